"""The one Excel module: every report and ledger writes its workbook through here.

- :func:`cell_text` is the one formula-escaping function: text that Excel would read as a formula
  (starting with ``= + - @``, a tab or a carriage return) gets a leading apostrophe, so it is
  stored as a string and never evaluated; control characters a cell may not hold are dropped.
- Workbooks are made in openpyxl's write-only mode (:func:`new_workbook`), so a county-wide file
  streams instead of building a tree; :func:`workbook_bytes` saves one to memory.
- The shared look: a title row (A1), a note row (A2, scope and data-as-of), the header on row 3
  (bold, filled, centred, frozen below, filtered), text cells (``@``), dates (``yyyy-mm-dd``) and
  percentages (``0.00%``).

Two sheet writers share that look: :class:`Sheet` collects its rows first and sizes the columns
to fit them (the weekly and monthly reports: a few hundred rows, a total row, notes under the
table); :class:`SheetWriter` streams rows with fixed column widths (the ledgers: thousands of rows).
"""

import datetime as dt
import io
from collections.abc import Iterable

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# --- styles ---------------------------------------------------------------------------------------

TITLE_FONT = Font(bold=True, size=14)
SUBTITLE_FONT = Font(color="595959")  # the reports' scope / period / data-as-of row
NOTE_FONT = Font(size=10, color="555555")  # the ledgers' data-as-of / exported-by row
BOLD = Font(bold=True)
HEADER_FONT = BOLD
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
TEXT_FORMAT = "@"
DATE_FORMAT = "yyyy-mm-dd"
PCT_FORMAT = "0.00%"

# Column kinds of a :class:`Sheet`.
TEXT, INT, PCT, DATE = "text", "int", "pct", "date"

HEADER_ROW = 3  # title, note, header

# --- cell values ----------------------------------------------------------------------------------

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def cell_text(value) -> str | None:
    """Text as a cell may safely hold it: None when empty, control characters dropped, formulas defused."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    if not value:
        return None
    if not value.isprintable() and ILLEGAL_CHARACTERS_RE.search(value):  # isprintable: a fast C pre-check
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if value.startswith(_FORMULA_PREFIXES):
        value = "'" + value
    return value


def display_width(text) -> int:
    """Columns a text takes in Excel: CJK characters count twice."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(text))


def styled(ws, value, **style) -> Cell:
    """A text cell with ``font`` / ``fill`` / ``alignment`` set."""
    cell = WriteOnlyCell(ws, value=cell_text(value))
    for name, setting in style.items():
        setattr(cell, name, setting)
    return cell


def formatted(ws, number_format: str) -> Cell:
    """An empty cell with a number format (reusable: write-only rows are written as they are appended)."""
    cell = WriteOnlyCell(ws)
    cell.number_format = number_format
    return cell


# --- workbooks ------------------------------------------------------------------------------------


def new_workbook(*, title: str = "", exported_by: str = "") -> Workbook:
    """A write-only workbook; with a ``title``, its document properties name it and who exported it."""
    wb = Workbook(write_only=True)
    if title:
        wb.properties.title = title
        wb.properties.creator = "控辍保学"
        wb.properties.lastModifiedBy = exported_by[:50]
    return wb


def workbook_bytes(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def begin_table(
    ws, *, title: str, note: str, headers: list[str], widths: list[float], note_font: Font, freeze_cols: int = 0
) -> None:
    """Column widths, the pane frozen below the header, then the title, note and header rows.

    Widths and panes go into a write-only sheet's head, so this comes before the first data row.
    """
    for index, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = f"{get_column_letter(freeze_cols + 1)}{HEADER_ROW + 1}"
    set_up_pages(ws)
    ws.append([styled(ws, title, font=TITLE_FONT)])
    ws.append([styled(ws, note, font=note_font)])
    ws.append([styled(ws, header, font=HEADER_FONT, fill=HEADER_FILL, alignment=HEADER_ALIGN) for header in headers])


PAGE_FOOTER = "第 &P 页 共 &N 页"


def set_up_pages(ws) -> None:
    """Printed as the offices file them: A4 landscape, every column on one page wide (as many pages
    down as the rows need), the header row repeated on every page, "第 N 页 共 M 页" in the footer.
    Totals, notes and signature lines are the sheet's last rows, so they print on its last page."""
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # no limit down
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.6, header=0.2, footer=0.3)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.oddFooter.center.text = PAGE_FOOTER
    ws.evenFooter.center.text = PAGE_FOOTER


def filter_table(ws, columns: int, rows: int) -> None:
    """An autofilter over the header row and ``rows`` data rows below it."""
    ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(columns)}{HEADER_ROW + rows}"


# --- the reports' sheet ---------------------------------------------------------------------------


MEASURED_ROWS = 300  # rows a Sheet reads to size its columns (a county's 2,000-odd teachers need not all be)


class Sheet:
    """One table: title row, scope / data-as-of row, header row (frozen, filtered), rows, total, notes.

    ``columns`` are ``(header, kind)`` pairs, the kind one of TEXT, INT, PCT (a percentage such as
    66.67, written as 0.6667 formatted ``0.00%``) and DATE (a date or an ISO date string). Rows are
    collected first and written in one pass to a write-only worksheet (column widths must precede
    the rows there), which keeps the county report's file cheap to make.
    """

    def __init__(self, wb: Workbook, title: str, *, heading: str, subtitle: str, columns, freeze_cols: int = 0):
        self.wb = wb
        self.title = title
        self.heading = heading
        self.subtitle = subtitle
        self.columns = columns  # [(header, kind)]
        self.kinds = [kind for _header, kind in columns]
        self.freeze_cols = freeze_cols
        self.widths = [max(display_width(header), 6) for header, _kind in columns]
        self.body: list[list] = []

    @property
    def rows(self) -> int:
        return len(self.body)

    def append(self, values) -> None:
        values = list(values)
        if len(values) != len(self.columns):
            raise ValueError(f"{self.title}: {len(values)} values for {len(self.columns)} columns")
        self.body.append(values)

    def _measure(self, values) -> None:
        for index, value in enumerate(values):
            if value is not None:
                width = display_width(value) + 2
                if width > self.widths[index]:
                    self.widths[index] = min(width, 60)

    def _cells(self, ws, values, *, total: bool = False) -> list:
        cells = []
        for kind, value in zip(self.kinds, values, strict=True):
            if value is None or value == "":
                value, number_format = None, None
            elif kind == PCT:
                value, number_format = value / 100, PCT_FORMAT
            elif kind == DATE:
                value = dt.date.fromisoformat(value) if isinstance(value, str) else value
                number_format = DATE_FORMAT
            elif kind == INT:
                number_format = None
            else:
                value, number_format = cell_text(value), None
            if number_format is None and not total:
                cells.append(value)
                continue
            cell = WriteOnlyCell(ws, value=value)
            if number_format:
                cell.number_format = number_format
            if total:
                cell.font = BOLD
                cell.fill = TOTAL_FILL
            cells.append(cell)
        return cells

    def finish(self, *, total=None, notes: Iterable[str] = ()) -> None:
        ws = self.wb.create_sheet(self.title)
        for values in self.body[:MEASURED_ROWS]:  # column widths from the first rows: enough to size them
            self._measure(values)
        filter_table(ws, len(self.columns), len(self.body))
        begin_table(
            ws,
            title=self.heading,
            note=self.subtitle,
            headers=[header for header, _kind in self.columns],
            widths=[width + 2 for width in self.widths],
            note_font=SUBTITLE_FONT,
            freeze_cols=self.freeze_cols,
        )
        for values in self.body:
            ws.append(self._cells(ws, values))
        if total is not None:
            ws.append(self._cells(ws, total, total=True))
        notes = list(notes)
        if notes:
            ws.append([])
            for note in notes:
                ws.append([cell_text(note)])


# --- the ledgers' sheet ---------------------------------------------------------------------------


class SheetWriter:
    """One streamed worksheet: title, note, header on row 3, frozen and filtered; text columns as text.

    Rows are written as they are appended. The cells of ``text_columns`` (ID numbers, 学籍号) are
    written as text (``@``) through one reused cell per column; dates need nothing, openpyxl gives
    a date value the ``yyyy-mm-dd`` format itself, and faster.
    """

    def __init__(
        self,
        wb: Workbook,
        *,
        sheet_title: str,
        title: str,
        note: str,
        headers: list[str],
        widths: list[float],
        text_columns: Iterable[str] = (),
        extra_widths: dict[str, float] | None = None,
    ) -> None:
        ws = wb.create_sheet(title=sheet_title)
        self.ws = ws
        self.headers = headers
        self.rows = 0  # table rows below the header
        for letter, width in (extra_widths or {}).items():
            ws.column_dimensions[letter].width = width
        begin_table(ws, title=title, note=note, headers=headers, widths=widths, note_font=NOTE_FONT)
        self.written = HEADER_ROW  # every row, title and extras included
        self._text_cells = [(headers.index(name), formatted(ws, TEXT_FORMAT)) for name in text_columns]

    def append(self, row: list) -> None:
        for index, cell in self._text_cells:
            value = row[index]
            if value is not None:
                cell.value = value
                row[index] = cell
        self.ws.append(row)
        self.rows += 1
        self.written += 1

    def raw(self, row: list, *, height: float | None = None) -> None:
        """A row outside the table (totals, signatures): not counted, not filtered."""
        if height:
            self.ws.row_dimensions[self.written + 1].height = height  # before the row is written
        self.ws.append(row)
        self.written += 1

    def finish(self) -> None:
        filter_table(self.ws, len(self.headers), self.rows)
