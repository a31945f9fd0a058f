from main import ItemIn, ItemOut


def test_item_in_defaults():
    item = ItemIn(name="widget")
    assert item.description is None


def test_item_out_roundtrip():
    item = ItemOut(id=1, name="widget", description="a widget")
    assert ItemOut.model_validate(item.model_dump()) == item
