"""Pieces of SDV metadata dicts shared by the generated databases."""

from __future__ import annotations


def rel(parent: str, pk: str, child: str, fk: str) -> dict:
    """One SDV relationship entry."""
    return {'parent_table_name': parent, 'parent_primary_key': pk,
            'child_table_name': child, 'child_foreign_key': fk}
