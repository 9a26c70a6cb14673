"""The SDV side of GRDMSynthesizer, apart from the hooks: parameter and data checks, keys <->
links, CSV output, saved-file reading, imputation point estimates. Nothing here touches the model."""
