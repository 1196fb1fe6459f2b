"""Shared building blocks for django-import-export (CSV/XLSX in the admin).

* **Formula injection.** Exports put an apostrophe before every text cell that starts
  with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (OWASP "CSV Injection"),
  so Excel and LibreOffice show it as text instead of evaluating it. Numbers, dates and
  booleans stay what they are (a numeric ``-5.00`` is not text). Imports remove that
  apostrophe again, so an exported file imports unchanged. import-export's own
  ``IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT`` only strips ``=`` and turns every cell
  into text, so it is switched off in the settings.
* **German input.** Numbers and dates are accepted the German way (``1.234,56``,
  ``31.12.2024``) as well as ISO (``1234.56``, ``2024-12-31``); booleans as ja/nein or
  1/0. CSV exports write ISO values (unambiguous for every program); XLSX keeps
  native numbers and dates.
* **Errors people can act on.** Wrong or missing columns, a wrong encoding or an
  unreadable file are named in German without a traceback; row numbers are the file's
  line numbers (the header is line 1), as a spreadsheet shows them.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import date, datetime
from decimal import Decimal

import tablib
from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, ValidationError
from django.db import IntegrityError, models, transaction
from import_export import resources, widgets
from import_export.formats import base_formats
from import_export.results import Error, Result

from billing.domain.money import parse_amount

#: Characters a spreadsheet may read as the start of a formula (or that hide one).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NEUTRALISER = "'"


def neutralise_formula(value: str) -> str:
    """``=HYPERLINK(...)`` → ``'=HYPERLINK(...)``; harmless text stays as it is."""
    return _NEUTRALISER + value if value.startswith(FORMULA_PREFIXES) else value


def restore_formula(value: str) -> str:
    """Undo :func:`neutralise_formula` (only where it would have added the apostrophe)."""
    if value.startswith(_NEUTRALISER) and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


class FileError(ValueError):
    """The file as a whole cannot be imported (columns, encoding, format)."""


# --- widgets -----------------------------------------------------------------------------


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class AmountWidget(widgets.NumberWidget):
    """Decimals with up to two places: ``1.234,56``, ``1234,56``, ``1234.56``, ``19 %``.

    ``1.234`` is refused as ambiguous (billing.domain.money.parse_amount).
    """

    def clean(self, value, row=None, **kwargs) -> Decimal | None:
        if _blank(value):
            return None
        if isinstance(value, bool):
            raise ValueError(f"„{value}“ ist keine Zahl.")
        if isinstance(value, Decimal):
            return value
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, float):  # a number cell of an XLSX sheet
            return Decimal(repr(value))
        text = str(value).strip().removesuffix("%").strip()
        try:
            return parse_amount(text)
        except ValueError as exc:
            raise ValueError(f"{exc} (erwartet z. B. 1234,56 oder 1234.56).") from None

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return None if kwargs.get("force_native_type") else ""
        return value if kwargs.get("force_native_type") else str(value)


_WHOLE_RE = re.compile(r"[-+]?(?:\d{1,3}(?:\.\d{3})+|\d+)", re.ASCII)


class WholeNumberWidget(widgets.NumberWidget):
    """Integers, with German thousands dots allowed: ``5000`` or ``5.000``."""

    def clean(self, value, row=None, **kwargs) -> int | None:
        if _blank(value):
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        text = re.sub(r"[\s\u00a0\u202f]", "", str(value))
        if not _WHOLE_RE.fullmatch(text):
            raise ValueError(f"„{value}“ ist keine ganze Zahl.")
        return int(text.replace(".", ""))

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return None if kwargs.get("force_native_type") else ""
        return value if kwargs.get("force_native_type") else str(value)


class GermanDateWidget(widgets.DateWidget):
    """Dates as ``31.12.2024`` or ``2024-12-31`` (or a date cell of an XLSX sheet)."""

    INPUT_FORMATS = ("%d.%m.%Y", "%Y-%m-%d")

    def clean(self, value, row=None, **kwargs) -> date | None:
        if _blank(value):
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        text = str(value).strip()
        for fmt in self.INPUT_FORMATS:
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        raise ValueError(f"„{value}“ ist kein gültiges Datum (TT.MM.JJJJ oder JJJJ-MM-TT).")

    def render(self, value, obj=None, **kwargs):
        if kwargs.get("force_native_type"):
            return value
        return value.isoformat() if isinstance(value, date) else ""


class GermanBooleanWidget(widgets.BooleanWidget):
    """ja/nein, wahr/falsch, x, 1/0, true/false; anything else is an error, not ``False``."""

    TRUE_WORDS = frozenset({"1", "ja", "j", "wahr", "x", "true", "yes"})
    FALSE_WORDS = frozenset({"0", "nein", "n", "falsch", "false", "no"})

    def clean(self, value, row=None, **kwargs) -> bool | None:
        if isinstance(value, bool):
            return value
        if _blank(value):
            return None
        text = str(value).strip().lower()
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        if text in self.TRUE_WORDS:
            return True
        if text in self.FALSE_WORDS:
            return False
        raise ValueError(f"„{value}“ ist kein Wahrheitswert (ja oder nein).")

    def render(self, value, obj=None, **kwargs):
        if kwargs.get("force_native_type"):
            return value
        if value is None:
            return ""
        return "ja" if value else "nein"


class ChoiceWidget(widgets.CharWidget):
    """A choice by its code or its German label; unknown values list what is allowed."""

    def __init__(self, choices: type[models.TextChoices], unknown: str, **kwargs):
        self.choices = choices
        self.unknown = unknown  # e.g. "Unbekannte Kategorie"
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs) -> str:
        if _blank(value):
            return ""
        text = str(value).strip()
        for choice in self.choices:
            if text.lower() in (choice.value.lower(), str(choice.label).lower()):
                return choice.value
        allowed = ", ".join(f"{c.value} ({c.label})" for c in self.choices)
        raise ValueError(f"{self.unknown} „{text}“. Erlaubt sind: {allowed}.")


class LookupWidget(widgets.CachedForeignKeyWidget):
    """A related object by a readable key (slug, code); unknown keys are a row error."""

    def __init__(self, model, field: str, unknown: str, *, list_known: bool = False, **kwargs):
        self.unknown = unknown  # e.g. "Unbekannte Gebührenart"
        self.list_known = list_known
        super().__init__(model, field=field, **kwargs)

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, str):
            value = value.strip()
        try:
            return super().clean(value, row=row, **kwargs)
        except ObjectDoesNotExist:
            hint = ""
            if self.list_known:
                known = sorted(str(key) for key in self.model.objects.values_list(self.field, flat=True))
                hint = f" Vorhanden: {', '.join(known)}."
            raise ValueError(f"{self.unknown} „{value}“.{hint}") from None


class ListWidget(widgets.Widget):
    """A list in one cell, separated by ``"; "`` (``,`` and line breaks are read as well)."""

    def __init__(self, separator: str = "; ", item_validator=None, **kwargs):
        self.separator = separator
        self.item_validator = item_validator
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs) -> list[str]:
        if _blank(value):
            return []
        if isinstance(value, float) and value.is_integer():  # a long number cell of an XLSX sheet
            value = int(value)
        items = [item for item in re.split(r"[;,\n]+", str(value)) if item.strip()]
        items = [item.strip() for item in items]
        if self.item_validator:
            problems = []
            for item in items:
                try:
                    self.item_validator(item)
                except ValidationError as exc:
                    problems.extend(exc.messages)
            if problems:
                raise ValueError(" ".join(problems))
        return items

    def render(self, value, obj=None, **kwargs) -> str:
        return self.separator.join(str(v) for v in value or [])


class JSONTextWidget(widgets.Widget):
    """A JSON document in one cell (no guessing with single quotes)."""

    def __init__(self, what: str = "Der Inhalt", *, required: bool = False, **kwargs):
        self.what = what
        self.required = required
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs):
        if _blank(value):
            if self.required:
                raise ValueError(f"{self.what} fehlt (ein JSON-Dokument in der Zelle).")
            return None
        try:
            return json.loads(str(value))
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"{self.what} ist kein gültiges JSON (Zeile {exc.lineno}, Spalte {exc.colno})."
            ) from None

    def render(self, value, obj=None, **kwargs) -> str:
        return json.dumps(value, ensure_ascii=False) if value is not None else ""


_NATIVE_WIDGETS = (
    widgets.NumberWidget,
    widgets.DateWidget,
    widgets.DateTimeWidget,
    widgets.TimeWidget,
    widgets.DurationWidget,
    widgets.BooleanWidget,
)


def is_text_field(field) -> bool:
    """Text columns are neutralised on export; numbers, dates and booleans are not."""
    return not isinstance(field.widget, _NATIVE_WIDGETS)


# --- results -----------------------------------------------------------------------------


class ImportProblem(Error):
    """A file-level problem is shown as its German message, without a traceback."""

    @property
    def traceback(self) -> str:
        if isinstance(self.error, FileError):
            return ""
        return super().traceback


class LineNumberedResult(Result):
    """Row numbers are the file's line numbers: line 1 is the header, the first row line 2."""

    def append_invalid_row(self, number, row, validation_error):
        super().append_invalid_row(number + 1, row, validation_error)

    def append_error_row(self, number, row, errors):
        super().append_error_row(number + 1, row, errors)

    def row_errors(self):
        return [(row.number, row.errors) for row in self.error_rows]


def file_line(kwargs: dict) -> int:
    """The file line of the row being imported (``row_number`` counts data rows from 1)."""
    return int(kwargs.get("row_number") or 0) + 1


# --- resources ---------------------------------------------------------------------------


class SafeModelResource(resources.ModelResource):
    """Base for all our resources: formula-safe exports, German input, clear file errors.

    ``required_columns`` must be in the file; a column that no field of the resource
    knows is refused too (a typo in a header would otherwise be ignored silently).
    """

    required_columns: tuple[str, ...] = ()
    #: The field a repeated :meth:`file_key` is reported on (``None``: the row as a whole).
    duplicate_field: str | None = None

    WIDGETS_MAP = {
        **resources.ModelResource.WIDGETS_MAP,
        "DecimalField": AmountWidget,
        "DateField": GermanDateWidget,
        "IntegerField": WholeNumberWidget,
        "PositiveIntegerField": WholeNumberWidget,
        "PositiveSmallIntegerField": WholeNumberWidget,
        "SmallIntegerField": WholeNumberWidget,
        "BigIntegerField": WholeNumberWidget,
        "PositiveBigIntegerField": WholeNumberWidget,
        "BooleanField": GermanBooleanWidget,
    }

    @classmethod
    def get_error_result_class(cls):
        return ImportProblem

    @classmethod
    def get_result_class(cls):
        return LineNumberedResult

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._file_keys: dict[tuple, int] = {}

    def known_columns(self) -> list[str]:
        return [field.column_name for field in self.get_import_fields()]

    def file_key(self, instance) -> tuple | None:
        """What identifies a row within one file; a second row with the same key is an error.

        Without this check the second row would silently update what the first created.
        """
        return None

    def duplicate_message(self, key: tuple, first_line: int) -> str:
        return f"Dieselbe Zeile steht schon in Zeile {first_line} der Datei."

    def row_problems(self, instance) -> dict[str, str]:
        """Further German errors per field (checked before the model's own validation)."""
        return {}

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        self._file_keys = {}
        headers = [str(h).strip().lstrip("\ufeff") if h is not None else "" for h in (dataset.headers or [])]
        dataset.headers = headers
        known = self.known_columns()
        missing = [c for c in self.required_columns if c not in headers]
        unknown = [h for h in headers if h and h not in known]
        problems = []
        if missing:
            problems.append(f"Es fehlen die Spalten: {', '.join(missing)}.")
        if unknown:
            problems.append(f"Unbekannte Spalten: {', '.join(unknown)}.")
        if problems:
            del dataset[0 : len(dataset)]  # nothing to check row by row in a file of the wrong shape
            problems.append(f"Erwartet werden: {', '.join(known)}.")
            raise FileError(" ".join(problems))

    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        for field in self.get_import_fields():
            value = row.get(field.column_name)
            if isinstance(value, str) and is_text_field(field):
                row[field.column_name] = restore_formula(value)

    def get_instance(self, instance_loader, row):
        try:
            return super().get_instance(instance_loader, row)
        except (ValueError, ValidationError):
            return None  # an unreadable key cell; import_instance() reports it for the row

    def import_instance(self, instance, row, **kwargs):
        errors: dict = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        for name, message in self.row_problems(instance).items():
            if name not in errors:
                errors[name] = [ValidationError(message)]
        key = self.file_key(instance)
        if key is not None and all(part not in (None, "") for part in key):
            line = file_line(kwargs)
            first = self._file_keys.setdefault(key, line)
            if first != line:
                errors.setdefault(self.duplicate_field or NON_FIELD_ERRORS, []).append(
                    ValidationError(self.duplicate_message(key, first))
                )
        if errors:
            raise ValidationError(errors)

    def do_instance_save(self, instance, is_create):
        """A constraint the database enforces (e.g. a concurrent change) becomes a row error."""
        try:
            with transaction.atomic(using=self.get_db_connection_name()):
                super().do_instance_save(instance, is_create)
        except IntegrityError as exc:
            name = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
            for constraint in instance._meta.constraints:
                if constraint.name == name:
                    raise ValidationError(constraint.get_violation_error_message()) from exc
            raise ValidationError(f"Die Datenbank hat die Zeile abgelehnt (Regel „{name or '?'}“).") from exc

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        if isinstance(value, str) and is_text_field(field):
            return neutralise_formula(value)
        return value

    def before_save_instance(self, instance, row, **kwargs):
        """The audit log (django-simple-history) records who imported and from which file."""
        super().before_save_instance(instance, row, **kwargs)
        user = kwargs.get("user")
        if user is not None and getattr(user, "is_authenticated", False):
            instance._history_user = user
        file_name = kwargs.get("file_name")
        instance._change_reason = (f"Import aus {file_name}" if file_name else "Import")[:100]


# --- formats -----------------------------------------------------------------------------


def _delimiter(text: str) -> str:
    """The header line decides: German Excel writes ``;``, others ``,`` or tabs."""
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


class CSV(base_formats.CSV):
    """CSV in UTF-8 with ``,``, ``;`` or tab as separator (detected from the header)."""

    def create_dataset(self, in_stream, **kwargs):
        if isinstance(in_stream, bytes):
            try:
                in_stream = in_stream.decode(self.encoding or "utf-8-sig")
            except UnicodeDecodeError as exc:
                raise encoding_error(exc) from None
        in_stream = in_stream.removeprefix("\ufeff")
        try:
            dataset = tablib.import_set(in_stream, format="csv", delimiter=_delimiter(in_stream))
        except (tablib.InvalidDimensions, csv.Error) as exc:
            raise FileError(
                "Die CSV-Datei ist nicht lesbar: mindestens eine Zeile hat mehr Zellen als die Kopfzeile "
                "(Trennzeichen und Anführungszeichen prüfen)."
            ) from exc
        return _require_rows(dataset)


class XLSX(base_formats.XLSX):
    def create_dataset(self, in_stream):
        from zipfile import BadZipFile

        from openpyxl.utils.exceptions import InvalidFileException

        try:
            dataset = super().create_dataset(in_stream)
        except (BadZipFile, InvalidFileException, KeyError, OSError) as exc:
            raise FileError("Die Datei ist keine gültige XLSX-Datei (Excel-Arbeitsmappe).") from exc
        except StopIteration:
            raise FileError("Die Tabelle ist leer.") from None
        rows = [row for row in dataset if not all(_blank(cell) for cell in row)]  # formatted empty rows
        cleaned = tablib.Dataset(*rows, headers=dataset.headers)
        return _require_rows(cleaned)


def _require_rows(dataset: tablib.Dataset) -> tablib.Dataset:
    if not dataset.headers or not any(str(h or "").strip() for h in dataset.headers):
        raise FileError("Die Datei hat keine Kopfzeile mit Spaltennamen.")
    if not len(dataset):
        raise FileError("Die Datei enthält keine Datenzeilen.")
    return dataset


def encoding_error(exc: UnicodeDecodeError) -> FileError:
    line = exc.object[: exc.start].count(b"\n") + 1 if isinstance(exc.object, bytes) else 0
    where = f" (erstes unlesbares Zeichen in Zeile {line})" if line else ""
    return FileError(
        f"Die Datei ist nicht UTF-8-kodiert{where}. Bitte in Excel als „CSV UTF-8 (durch Trennzeichen "
        "getrennt)“ speichern oder als XLSX hochladen."
    )


def read_problem(exc: Exception) -> str:
    """German text for an exception raised while reading an uploaded file."""
    if isinstance(exc, FileError):
        return str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return str(encoding_error(exc))
    return "Die Datei konnte nicht gelesen werden. Passt das gewählte Format (CSV oder XLSX) zur Datei?"
