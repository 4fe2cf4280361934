from __future__ import annotations

import pandas as pd
import pytest

from steward.core.errors import InvalidArgument, NotFound
from steward.datasets import service
from steward.runtime import Runtime


def table() -> pd.DataFrame:
    return pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"], "y": [0, 1, 0]})


def test_same_data_is_the_same_version_and_changed_data_a_child(store_runtime: Runtime) -> None:
    runtime = store_runtime
    with runtime.uow() as uow:
        v1, new1 = service.register_version(uow, runtime.blobs, "toy", table(), source="t.csv")
        again, new2 = service.register_version(uow, runtime.blobs, "toy", table().iloc[::-1], source="t2.csv")
        v2, new3 = service.register_version(uow, runtime.blobs, "toy", table().assign(x=[1.0, 2.0, 4.0]))
        uow.commit()
    assert (new1, new2, new3) == (True, False, True)
    assert again.id == v1.id
    assert v2.parent_id == v1.id
    assert v1.profile is not None and v1.profile["columns"]["x"]["max"] == 3.0
    with runtime.uow() as uow:
        assert [v.id for v in service.list_versions(uow, "toy")] == [v2.id, v1.id]
        assert [v.id for v in service.lineage(uow, v2)] == [v2.id, v1.id]
        assert service.get_version(uow, "toy").id == v2.id
        assert service.get_version(uow, v1.ref).id == v1.id
        assert service.get_version(uow, v1.id).id == v1.id


def test_snapshot_reads_back_the_same_content(runtime: Runtime) -> None:
    with runtime.uow() as uow:
        v, _ = service.register_version(uow, runtime.blobs, "toy", table())
        uow.commit()
    back = service.load_data(runtime.blobs, v)
    pd.testing.assert_frame_equal(back, table())


def test_unknown_references_and_bad_names_are_clear_errors(runtime: Runtime) -> None:
    with runtime.uow() as uow:
        with pytest.raises(NotFound):
            service.get_version(uow, "nothing")
        with pytest.raises(InvalidArgument, match="6 hex digits"):
            service.get_version(uow, "toy@ab")
        with pytest.raises(InvalidArgument, match="dataset name"):
            service.register_version(uow, runtime.blobs, "bad name!", table())
