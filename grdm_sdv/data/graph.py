"""RelationalGraph: one node type per table, one edge type per foreign key plus its reverse.

Node types are internal ids (``t0``, ``t1``, ...) and relations are the FK ids (``fk0`` and
``rev_fk0``), so any table or column name is safe for PyG and two FKs between the same pair
of tables stay separate edge types. Edge type ``(child, fk, parent)`` carries messages from
children to their parent; ``(parent, rev_fk, child)`` the other way (as ``T.ToUndirected``).

The graph also exposes structural node features the denoiser is conditioned on: for every
FK pointing at a table, ``log1p`` of the row's child count, and for every nullable FK a
table holds, whether it is null; then the row's place on each co-parent axis of the structure
model, where it has any (``positions``; see :mod:`grdm_sdv.coparents`: a sampled row takes
the place of the real row it copied its child counts from). Counts and null flags are
computed the same way on the real graph and on a sampled one, so attributes are generated
*given* the structure, p(X | V, E).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .schema import RelationalSchema

EdgeType = tuple[str, str, str]


@dataclass
class RelationalGraph:
    """A database as a heterogeneous graph.

    Attributes:
        num_nodes: node type -> number of rows.
        edge_index: edge type -> ``2 x E`` long tensor (row 0 source, row 1 destination).
        struct: node type -> ``n x s`` float tensor of structural features.
    """

    num_nodes: dict[str, int]
    edge_index: dict[EdgeType, torch.Tensor]
    struct: dict[str, torch.Tensor]

    @staticmethod
    def node_types(schema: RelationalSchema) -> dict[str, str]:
        """Table name -> node type id."""
        return {t: f't{i}' for i, t in enumerate(schema.tables)}

    @staticmethod
    def edge_types(schema: RelationalSchema, direction: str = 'both') -> list[EdgeType]:
        """Edge types, forward (child -> parent) then reverse for each FK.

        Args:
            direction: ``'both'``, or ``'down'`` for the parent -> child edges only.
        """
        if direction not in ('both', 'down'):
            raise ValueError(f"direction must be 'both' or 'down', got {direction!r}")
        nt = RelationalGraph.node_types(schema)
        out = []
        for fk in schema.foreign_keys:
            if direction == 'both':
                out.append((nt[fk.child], fk.name, nt[fk.parent]))
            out.append((nt[fk.parent], f'rev_{fk.name}', nt[fk.child]))
        return out

    @classmethod
    def build(
        cls,
        schema: RelationalSchema,
        n_rows: dict[str, int],
        links: dict[str, np.ndarray],
        nullable: dict[str, bool],
        direction: str = 'both',
        child_counts: dict[str, np.ndarray] | None = None,
        positions: dict[str, np.ndarray] | None = None,
    ) -> 'RelationalGraph':
        """Build the graph from row counts and FK links (parent index per child, -1 = null).

        Args:
            nullable: fk name -> whether the FK had nulls in the training data (decides
                whether a null indicator is a structural feature, so fit and sample agree).
            direction: which edges carry messages (see ``edge_types``); the structural
                features (child counts) are the same either way.
            child_counts: fk name -> child count of each parent row, where it is not the
                count of ``links`` (a shard of a larger graph, whose parents have children
                elsewhere; see :mod:`grdm_sdv.sharding`).
            positions: table -> ``n x p`` places of its rows on co-parent axes
                (:meth:`grdm_sdv.structure.StructureModel.positions`), the last ``p``
                structural features.
        """
        nt = cls.node_types(schema)
        num_nodes = {nt[t]: int(n_rows[t]) for t in schema.tables}
        edge_index: dict[EdgeType, torch.Tensor] = {}
        feats: dict[str, list[np.ndarray]] = {nt[t]: [] for t in schema.tables}
        for fk in schema.foreign_keys:
            link = np.asarray(links[fk.name], dtype=np.int64)
            child = np.flatnonzero(link >= 0)
            parent = link[child]
            e = torch.from_numpy(np.stack([child, parent]))
            if direction == 'both':
                edge_index[(nt[fk.child], fk.name, nt[fk.parent])] = e
            edge_index[(nt[fk.parent], f'rev_{fk.name}', nt[fk.child])] = e.flip(0).contiguous()
            deg = (np.bincount(parent, minlength=n_rows[fk.parent]) if child_counts is None
                   else child_counts[fk.name]).astype(np.float32)
            feats[nt[fk.parent]].append(np.log1p(deg))
            if nullable.get(fk.name, False):
                feats[nt[fk.child]].append((link < 0).astype(np.float32))
        for t, place in (positions or {}).items():
            feats[nt[t]].extend(np.asarray(place, np.float32).T)
        struct = {
            k: torch.from_numpy(np.stack(v, 1)) if v else torch.zeros(num_nodes[k], 0)
            for k, v in feats.items()
        }
        return cls(num_nodes, edge_index, struct)

    @staticmethod
    def struct_dims(schema: RelationalSchema, nullable: dict[str, bool],
                    positions: dict[str, int] | None = None) -> dict[str, int]:
        """Width of the structural features of each node type (``positions``: table -> number
        of co-parent axes its rows have a place on)."""
        nt = RelationalGraph.node_types(schema)
        dims = {nt[t]: 0 for t in schema.tables}
        for fk in schema.foreign_keys:
            dims[nt[fk.parent]] += 1
            dims[nt[fk.child]] += int(nullable.get(fk.name, False))
        for t, width in (positions or {}).items():
            dims[nt[t]] += width
        return dims
