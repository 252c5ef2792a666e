"""The warehouse at a glance for operators: each table's version, rows, files and size."""

from __future__ import annotations

from jobs.warehouse.registry import INPUT_TABLES
from jobs.warehouse.tables import Warehouse

_PER_RETAILER_SHOWN = 5


def format_summary(warehouse: Warehouse) -> str:
    """Every existing table (version, rows, files, size) and the largest retailers' rows."""
    lines = [
        f"Warehouse at {warehouse.root_uri}",
        "",
        f"{'table':<18}{'version':>8}{'rows':>14}{'files':>8}{'partitions':>12}{'MiB':>9}",
    ]
    summaries = warehouse.summaries()
    for s in summaries.values():
        lines.append(
            f"{s.table:<18}{s.version:>8}{s.rows:>14,}{s.files:>8}{s.partitions:>12}"
            f"{s.size_bytes / 2**20:>9.1f}"
        )
    present = [name for name in INPUT_TABLES if name in summaries]
    if not present:
        return "\n".join([*lines, "(no tables yet: run `campaigns seed`)"])
    per_table = {name: summaries[name].rows_by_partition for name in present}
    retailers = sorted(per_table[present[0]], key=lambda k: -per_table[present[0]][k])
    lines += ["", f"{'retailer':<18}" + "".join(f"{name:>14}" for name in present)]
    for key in retailers[:_PER_RETAILER_SHOWN]:
        lines.append(
            f"{key[0]!s:<18}" + "".join(f"{per_table[n].get(key, 0):>14,}" for n in present)
        )
    if len(retailers) > _PER_RETAILER_SHOWN:
        lines.append(f"... and {len(retailers) - _PER_RETAILER_SHOWN} more retailers")
    return "\n".join(lines)
