"""Excel ledgers (台账): 辍学学生台账, 疑似辍学学生台账, 劝返清单 and 适龄儿童少年台账, scoped to whoever
exports them.

Every ledger is one row per student (the 适龄儿童少年台账: per screened child, grouped by household;
DESIGN.md §6, "Forms and ledger columns"), written through :mod:`reporting.xlsx` in write-only mode
so that a county-wide file streams instead of building a tree:

- a title row (A1) naming the scope and the ledger, "数据截至 YYYY-MM-DD HH:MM" (Asia/Shanghai) in A2,
  Chinese headers on row 3, frozen below the header, an autofilter over header and data;
- 身份证号 and 学籍号 as text (``@``), dates as real dates (``yyyy-mm-dd``);
- no formula injection (``xlsx.cell_text``);
- ID numbers masked but for the last four digits for roles that may not see them;
- only cases (screened children) the exporter may see, loaded as plain values in a constant number
  of queries whatever the number of rows.

One module per ledger (:mod:`.dropouts`, :mod:`.suspected`, :mod:`.returns`, :mod:`.screening`);
:mod:`.shared` holds the context, the rows and the sheet they share. Small exports are generated in
the request; a county-wide export that is large runs as a ReportRun (``services.export_ledger``),
and every download is logged (``services.log_download``).
"""

from . import dropouts, returns, screening, suspected
from .dropouts import write_dropouts
from .returns import write_returns
from .shared import Context, Ledger, context_for_run, context_for_user, direct_max_rows, filename_for, row_counts
from .suspected import write_suspected

LEDGERS: dict[str, Ledger] = {
    ledger.slug: ledger for ledger in (dropouts.LEDGER, suspected.LEDGER, returns.LEDGER, screening.LEDGER)
}
LEDGER_BY_KIND = {ledger.kind: ledger for ledger in LEDGERS.values()}
LEDGER_KINDS = tuple(LEDGER_BY_KIND)

__all__ = [
    "LEDGERS",
    "LEDGER_BY_KIND",
    "LEDGER_KINDS",
    "Context",
    "Ledger",
    "context_for_run",
    "context_for_user",
    "direct_max_rows",
    "filename_for",
    "row_counts",
    "write_dropouts",
    "write_returns",
    "write_suspected",
]
