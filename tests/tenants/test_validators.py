import pytest
from django.core.exceptions import ValidationError

from tenants.validators import leitweg_check_digits, validate_ags, validate_leitweg_id


@pytest.mark.parametrize("ags", ["14713000", "14628410", "14521000"])
def test_valid_saxon_ags(ags):
    validate_ags(ags)


@pytest.mark.parametrize(
    ("ags", "code"),
    [
        ("1471300", "ags_format"),
        ("147130000", "ags_format"),
        ("14713A00", "ags_format"),
        (" 4713000", "ags_format"),
        ("17713000", "ags_land"),
        ("00713000", "ags_land"),
        ("09162000", "ags_other_land"),  # München: a real AGS, but not Saxony
    ],
)
def test_invalid_ags(ags, code):
    with pytest.raises(ValidationError) as exc:
        validate_ags(ags)
    assert exc.value.code == code
    assert exc.value.messages[0]  # a German sentence, not an empty error


@pytest.mark.parametrize(
    "leitweg_id",
    [
        "04011000-1234512345-06",  # the KoSIT test ID
        "991-33333TEST-33",
        "14713000-12345-84",
        "14612000-47",
    ],
)
def test_valid_leitweg_ids(leitweg_id):
    validate_leitweg_id(leitweg_id)


def test_check_digits_are_iso7064_mod97_10():
    assert leitweg_check_digits("04011000-1234512345") == "06"
    # any single digit change must change the check digits
    assert leitweg_check_digits("04011000-1234512346") != "06"


@pytest.mark.parametrize(
    ("leitweg_id", "code"),
    [
        ("04011000-1234512345-07", "leitweg_check"),
        ("04011000-1234512345", "leitweg_format"),
        ("0-12345-06", "leitweg_format"),
        ("04011000_1234512345-06", "leitweg_format"),
        ("04011000-12345-ÄÖ-06", "leitweg_format"),
        ("", "leitweg_format"),
    ],
)
def test_invalid_leitweg_ids(leitweg_id, code):
    with pytest.raises(ValidationError) as exc:
        validate_leitweg_id(leitweg_id)
    assert exc.value.code == code
