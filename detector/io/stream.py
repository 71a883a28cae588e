"""Reading a long CSV, Parquet, Axivity ``.cwa`` or GENEActiv ``.bin`` recording in batches of
rows, so that memory does not grow with its length.

:class:`SampleStream` yields the samples of a file as :class:`SampleBatch` es of about a million
rows (a Parquet file's row groups, a CSV file's blocks through pyarrow's streaming CSV reader),
each parsed exactly as :func:`detector.io.load.load_recording` parses a whole file
(:func:`detector.io.parse.table_samples`): the same columns, time formats, units and messages.
The units are decided on the first batch and kept for the rest. A ``.cwa`` file is read a few
thousand blocks at a time (:func:`detector.io.cwa.iter_cwa`), a GENEActiv ``.bin`` file a few
hundred pages at a time (:func:`detector.io.geneactiv.iter_geneactiv`). ``.gt3x`` and EDF+
files cannot be read this way; :func:`can_stream` says which files can.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from detector.io.columns import normalize_units
from detector.io.devices import cwa_details, geneactiv_details, is_device_file
from detector.io.parse import (NULL_TOKENS, ParsedTable, decimal_point, head_bytes, in_order,
                               is_parquet, sample_columns, short_error, sniff_csv, table_samples)
from detector.io.recording import InputError

__all__ = ["SampleBatch", "SampleStream", "can_stream", "probe_span"]

#: Rows per batch (about 5 MB of samples).
BATCH_ROWS = 1 << 18
#: Bytes of CSV text per block of the streaming reader (more only costs memory: pyarrow parses
#: blocks ahead on its threads).
CSV_BLOCK_BYTES = 4 << 20


@dataclass(frozen=True)
class SampleBatch:
    """Consecutive rows of a file: ``t_s`` (seconds, float64) and ``xyz_g`` (n x 3 g, float32),
    in file order (not necessarily sorted)."""

    t_s: np.ndarray
    xyz_g: np.ndarray


def can_stream(path: str | Path) -> bool:
    """True for a CSV (plain or gzip), Parquet, ``.cwa`` or GENEActiv ``.bin`` file; False for
    ``.gt3x`` and EDF+."""
    p = Path(path)
    return _device_kind(p) is not None or (not is_device_file(p) and p.suffix.lower() != ".edf")


def _device_kind(path: Path) -> str | None:
    """``.cwa`` or ``.bin`` for the device files read in batches, else None."""
    suffix = path.suffix.lower()
    return suffix if suffix in (".cwa", ".bin") else None


class SampleStream:
    """The samples of a CSV, Parquet, ``.cwa`` or GENEActiv ``.bin`` recording, batch by batch.

    Parameters
    ----------
    path : str or Path
    units : str, optional
        As :func:`detector.io.load.load_recording`.
    force : bool
        Use ``units`` even when the magnitude says otherwise.
    tz : tzinfo, optional
        Zone of a device's clock (default: the computer's; a GENEActiv's own wins).

    Attributes
    ----------
    info : dict
        What :func:`~detector.io.load.load_recording` reports about the file (columns, time
        format, units, ``n_rows_read``, ``n_malformed_rows``; a device file's details), for
        the batches read so far.

    Iterating twice reads the file twice (the second pass keeps the units of the first).
    """

    def __init__(self, path: str | Path, *, units: str | None = None, force: bool = False,
                 tz: tzinfo | None = None) -> None:
        self.path = Path(path)
        self.source = str(path)
        if not can_stream(self.path):
            raise InputError(f"{self.source}: a .gt3x or EDF+ file cannot be read in batches")
        self.unit_arg = normalize_units(units) if units is not None else None
        self.force = force
        self.tz = tz
        self.device = _device_kind(self.path)
        self._head, self._gz = (b"", False) if self.device else head_bytes(self.path,
                                                                          self.source)
        self.is_parquet = not self._gz and is_parquet(self.path, self._head)
        self._unit: tuple[str, str] | None = None
        self._info: dict[str, Any] = {}
        self._device_info: Any = None          # a device reader's counts, told on demand
        self._n_rows = 0

    @property
    def info(self) -> dict[str, Any]:
        if self._device_info is not None:
            details = cwa_details if self.device == ".cwa" else geneactiv_details
            return {**details(self._device_info), "n_rows_read": self._n_rows}
        return self._info

    def __iter__(self) -> Iterator[SampleBatch]:
        if self.device:
            yield from self._device_batches()
            return
        tables = self._parquet_tables() if self.is_parquet else self._csv_tables()
        n_rows = n_bad = 0
        for tab in tables:
            if tab.table.num_rows == 0:
                continue
            t_s, xyz, info = table_samples(tab, self.source, self.unit_arg, self.force,
                                           unit_fixed=self._unit)
            self._unit = (info["units"], info["units_from"])
            n_rows += int(tab.table.num_rows)
            n_bad += int(tab.info.get("n_malformed_rows", 0))
            self._info = {**info, "n_rows_read": n_rows, "n_malformed_rows": n_bad}
            yield SampleBatch(t_s, xyz)
        if n_rows == 0:
            raise InputError(f"{self.source}: no data rows after the header; expected one row "
                             "per sample")

    def _device_batches(self) -> Iterator[SampleBatch]:
        from detector.io.localtime import local_zone

        zone = self.tz or local_zone()
        if self.device == ".cwa":
            from detector.io.cwa import cwa_info, iter_cwa

            info: Any = cwa_info(self.path)
            batches = iter_cwa(self.path, zone, info)
        else:
            from detector.io.geneactiv import geneactiv_info, iter_geneactiv

            info = geneactiv_info(self.path)
            batches = iter_geneactiv(self.path, zone, info)
        # the details (temperatures ...) are summed up when asked for, not at every batch
        self._device_info, self._n_rows = info, 0
        for t_s, xyz in batches:
            self._n_rows += len(t_s)
            yield SampleBatch(t_s, np.asarray(xyz, np.float32))
        if self._n_rows == 0:
            raise InputError(f"{self.source}: no readable data in the device file")

    # -- Parquet ---------------------------------------------------------------------------

    def _parquet_tables(self) -> Iterator[ParsedTable]:
        try:
            # pre_buffer off: with it, pyarrow keeps every row group it has read (memory grew
            # with the file)
            pf = pq.ParquetFile(self.path, pre_buffer=False, buffer_size=1 << 20)
            wanted = self._parquet_columns(pf)
            offset = 0
            for batch in pf.iter_batches(batch_size=BATCH_ROWS,
                                         columns=list(dict.fromkeys(wanted))):
                table = in_order(pa.Table.from_batches([batch]), wanted)
                yield ParsedTable(table, 1, is_csv=False, info={"n_malformed_rows": 0},
                                  row_offset=offset)
                offset += table.num_rows
        except InputError:
            raise
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise InputError(f"{self.source}: cannot read as Parquet ({short_error(exc)})"
                             ) from None

    def _parquet_columns(self, pf: pq.ParquetFile) -> list[str]:
        """Names of the time, x, y and z columns of a Parquet file, in that order."""
        names = pf.schema_arrow.names
        return [names[i] for i in sample_columns(names, self.source)]

    # -- CSV -------------------------------------------------------------------------------

    def _csv_header(self) -> tuple[int, str, list[str], str, list[str]]:
        """Lines before the header, delimiter, header names, decimal point, and the names of
        the time, x, y and z columns in that order."""
        skip, delimiter, names = sniff_csv(self._head, self.source)
        decimal = decimal_point(self._head, skip, delimiter)
        include = [names[i] for i in sample_columns(names, self.source)]
        return skip, delimiter, names, decimal, include

    def _csv_tables(self) -> Iterator[ParsedTable]:
        skip, delimiter, names, decimal, include = self._csv_header()
        if len(set(names)) != len(names):
            raise InputError(f"{self.source}: the header repeats a column name; a long "
                             "recording is read in batches by column name")
        layout = (self.path, self._gz, delimiter, len(names))
        done = 0
        types: dict[str, pa.DataType] = {}
        while True:
            bad: list[str] = []

            def on_bad_row(row: pacsv.InvalidRow) -> str:
                bad.append(row.text)
                return "skip"

            options = dict(
                read_options=pacsv.ReadOptions(skip_rows=skip, block_size=CSV_BLOCK_BYTES),
                parse_options=pacsv.ParseOptions(delimiter=delimiter,
                                                 invalid_row_handler=on_bad_row),
                convert_options=pacsv.ConvertOptions(
                    include_columns=include, column_types=types, null_values=NULL_TOKENS,
                    strings_can_be_null=True, decimal_point=decimal))
            seen = 0
            try:
                source: Any = (pa.input_stream(str(self.path), compression="gzip")
                               if self._gz else str(self.path))
                reader = pacsv.open_csv(source, **options)
                for batch in reader:
                    n = batch.num_rows
                    if seen + n <= done:            # yielded before a restart
                        seen += n
                        continue
                    table = pa.Table.from_batches([batch])
                    if seen < done:
                        table = table.slice(done - seen)
                    n_bad, bad[:] = len(bad), []
                    if n_bad > max(10, table.num_rows // 100):
                        raise InputError(f"{self.source}: {n_bad} rows near row {done + 1:,} "
                                         f"do not have the {len(names)} fields of the header; "
                                         "check the delimiter")
                    yield ParsedTable(table, skip + 2, is_csv=True,
                                      info={"n_malformed_rows": n_bad}, csv_layout=layout,
                                      row_offset=done)
                    seen += n
                    done = seen
                return
            except pa.ArrowInvalid as exc:
                if "conversion error" not in str(exc).lower() or types:
                    raise InputError(f"{self.source}: cannot read as CSV "
                                     f"({short_error(exc)})") from None
                # A late value did not fit the type inferred from the first block: read the
                # columns as text from here on (the rows already read are not read again).
                types = {name: pa.string() for name in include}
            except pa.ArrowException as exc:
                raise InputError(f"{self.source}: cannot read as CSV ({short_error(exc)})"
                                 ) from None
            except (OSError, EOFError, UnicodeDecodeError) as exc:
                raise InputError(f"{self.source}: cannot read the file ({short_error(exc)})"
                                 ) from None


def probe_span(path: str | Path, tz: tzinfo | None = None) -> tuple[float, float] | None:
    """First and last timestamp (s) of a CSV, Parquet, ``.cwa`` or ``.bin`` recording (``tz``:
    the zone of a device's clock), from its first and last rows only; None when the ends cannot
    be read that way (then the caller reads the file as usual, and reports any problem). A gzip
    file is decompressed once to its end (not parsed), unless its uncompressed size says it
    spans less than :data:`GZIP_ESTIMATE_BELOW_S`: then the last time is that estimate (a
    night's file is not decompressed twice to learn it is one night)."""
    p = Path(path)
    device = _device_kind(p)
    if device:
        from detector.io.cwa import cwa_span
        from detector.io.geneactiv import geneactiv_span
        from detector.io.localtime import local_zone

        try:
            span = cwa_span if device == ".cwa" else geneactiv_span
            return span(p, tz or local_zone())
        except (InputError, OSError, ValueError):
            return None
    try:
        stream = SampleStream(p)
        if stream.is_parquet:
            pf = pq.ParquetFile(p, pre_buffer=False)
            if pf.metadata.num_rows == 0:
                return None
            wanted = stream._parquet_columns(pf)
            ends = []
            for g in (0, pf.num_row_groups - 1):
                table = in_order(pf.read_row_group(g, columns=list(dict.fromkeys(wanted))),
                                 wanted)
                table = table.slice(0, 1000) if g == 0 else table.slice(
                    max(table.num_rows - 1000, 0))
                ends.append(ParsedTable(table, 1, is_csv=False))
        else:
            head = _csv_piece(stream, False)
            if stream._gz:
                t = table_samples(head, stream.source, unit_fixed=("g", "probe"))[0]
                short = _gzip_span_estimate(stream, t)
                if short is not None and short < GZIP_ESTIMATE_BELOW_S:
                    return float(np.nanmin(t)), float(np.nanmin(t)) + short
            ends = [head, _csv_piece(stream, True)]
        times = [table_samples(tab, stream.source, unit_fixed=("g", "probe"))[0] for tab in ends]
    except (InputError, pa.ArrowException, OSError, ValueError, EOFError):
        return None
    first, last = times[0][np.isfinite(times[0])], times[1][np.isfinite(times[1])]
    if not (first.size and last.size):
        return None
    return float(first.min()), float(last.max())


#: A gzip CSV whose size says it spans less than this (s) is not decompressed to its end.
GZIP_ESTIMATE_BELOW_S = 20 * 3600.0


def _gzip_span_estimate(stream: SampleStream, t_head: np.ndarray) -> float | None:
    """Seconds a gzip CSV spans, from its uncompressed size (the gzip trailer), the bytes per
    line and the rows per second of its first lines; None when the size cannot be trusted (over
    4 GB it wraps; a file of several gzip members gives the last one's)."""
    import os

    size = os.path.getsize(stream.path)
    with open(stream.path, "rb") as fh:
        fh.seek(max(size - 4, 0))
        isize = int.from_bytes(fh.read(4), "little")
    t = np.sort(t_head[np.isfinite(t_head)])
    lines = stream._head.count(b"\n")
    if isize < size or t.size < 10 or t[-1] <= t[0] or lines < 10:
        return None
    rows_per_s = (t.size - 1) / (t[-1] - t[0])
    return isize / (len(stream._head) / lines) / rows_per_s


def _csv_piece(stream: SampleStream, tail: bool) -> ParsedTable:
    """The header with the first (or last) few hundred rows of a CSV file, as a table."""
    import gzip

    skip, delimiter, _, decimal, include = stream._csv_header()
    lines = stream._head.decode("utf-8", "replace").lstrip("\ufeff").splitlines()
    header = lines[skip]
    if not tail:
        body = [x for x in lines[skip + 1:skip + 500] if x.strip()][:-1]   # last may be cut
    else:
        size = 1 << 18
        if stream._gz:
            buf = b""
            with gzip.open(stream.path, "rb") as fh:
                while chunk := fh.read(1 << 22):
                    buf = (buf + chunk)[-size:]
        else:
            with open(stream.path, "rb") as fh:
                fh.seek(max(fh.seek(0, 2) - size, 0))
                buf = fh.read()
        body = [x for x in buf.decode("utf-8", "replace").splitlines()[1:] if x.strip()][-500:]
    text = "\n".join([header, *body]).encode("utf-8")
    table = pacsv.read_csv(pa.BufferReader(text), parse_options=pacsv.ParseOptions(
        delimiter=delimiter, invalid_row_handler=lambda _row: "skip"),
        convert_options=pacsv.ConvertOptions(
            include_columns=include, null_values=NULL_TOKENS, strings_can_be_null=True,
            decimal_point=decimal))
    return ParsedTable(table, skip + 2, is_csv=True)
