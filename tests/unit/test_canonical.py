import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from parcelguard.core.canonical import canonical_json

# Event-shaped JSON: strings (any Unicode, control characters included), integers
# within the interoperable range, booleans, null, arrays and objects.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=20,
)


@given(json_values)
def test_canonical_json_is_rfc8785(value: object) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_follow_rfc8785_number_serialisation(x: float) -> None:
    assert canonical_json({"x": x}) == rfc8785.dumps({"x": x})
