"""Form helpers shared by the apps' views."""

from django.core.exceptions import ValidationError


def add_service_errors(form, error: ValidationError) -> None:
    """A service's ValidationError onto the form: field errors where the form has the field,
    everything else as a form error (shown above the fields)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            for err in errors:
                form.add_error(field if field in form.fields else None, err)
    else:
        for message in error.messages:
            form.add_error(None, message)
