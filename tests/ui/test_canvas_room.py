"""Room for blocks expanded in place: the canvas offsets and their inverse (pure geometry)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ui.canvas.room import Growth, Room

W = 164.0


def test_no_expanded_block_moves_nothing():
    room = Room({}, W)
    assert not room
    assert room.offset(120.0, -40.0) == (0.0, 0.0)
    assert room.to_model(120.0, -40.0) == (120.0, -40.0)


def test_blocks_right_move_right_and_blocks_below_in_its_column_move_down():
    room = Room({"b": Growth(300.0, 0.0, dw=500.0, dh=200.0)}, W)
    assert room.offset(300.0, 0.0) == (0.0, 0.0)        # the block itself stays
    assert room.offset(0.0, 0.0) == (0.0, 0.0)          # left of it
    assert room.offset(600.0, 0.0) == (500.0, 0.0)      # right of it: by the growth in width
    assert room.offset(600.0, 900.0) == (500.0, 0.0)    # right and below: right only
    assert room.offset(300.0, 150.0) == (0.0, 200.0)    # below, same column: down
    assert room.offset(250.0, 150.0) == (0.0, 200.0)    # overlapping its column from the left
    assert room.offset(300.0, -150.0) == (0.0, 0.0)     # above it
    assert room.offset(100.0, 150.0) == (0.0, 0.0)      # another column


def test_a_point_inside_the_room_maps_to_the_blocks_column():
    room = Room({"b": Growth(300.0, 0.0, dw=500.0, dh=200.0)}, W)
    assert room.to_model(600.0, -100.0) == (300.0, -100.0)
    assert room.to_model(1000.0, 0.0) == (500.0, 0.0)
    # The block being dragged makes no room for itself.
    assert room.to_model(1000.0, 0.0, skip=["b"]) == (1000.0, 0.0)


coords = st.floats(min_value=-5000, max_value=5000, allow_nan=False).map(lambda v: round(v / 10) * 10.0)
growths = st.dictionaries(st.sampled_from("abcdef"),
                          st.builds(Growth, coords, coords, st.floats(0, 3000).map(round),
                                    st.floats(0, 2000).map(round)), max_size=6)


@settings(max_examples=300, deadline=None)
@given(growths, coords, coords)
def test_to_model_inverts_offset(grows, x, y):
    room = Room(grows, W)
    dx, dy = room.offset(x, y)
    assert room.to_model(x + dx, y + dy) == (x, y)
