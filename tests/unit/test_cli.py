"""The command line's model arguments."""

from grdm_sdv.cli import _steps, build_parser


def test_commands_train_with_the_library_default_steps_unless_told():
    parser = build_parser()
    # Without --steps neither command names a step count, so GRDMSynthesizer's default applies
    # (the demo used to train 1,500 steps while the library trained 2,000).
    for argv in (['demo'], ['fit', 'data_dir', '--model', 'model.pkl']):
        assert _steps(parser.parse_args(argv)) == {}
    assert _steps(parser.parse_args(['demo', '--steps', '7'])) == {'steps': 7}
    assert _steps(parser.parse_args(['fit', 'data_dir', '--model', 'm.pkl', '--steps', '9'])) == {'steps': 9}
