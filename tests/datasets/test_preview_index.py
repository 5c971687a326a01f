"""The preview index answers exactly what the Parquet file answers: same rows, numbers, totals, exports."""
from __future__ import annotations

import os

import pytest
from django.http import QueryDict

from datasets import selectors
from datasets.services import dataset_index_build
from tests.datasets.conftest import CSV

pytestmark = pytest.mark.django_db

VIEWS = [
    "",
    "col=region&op=eq&val=north&sort=-amount",
    "col=amount&op=isnull",
    "col=region&op=contains&val=O&sort=id&start=2&limit=2",
    "sort=flag&limit=3",
]


def _answers(dataset):
    out = []
    for query in VIEWS:
        view = selectors.view_from_query(QueryDict(query))
        page = selectors.dataset_preview(dataset=dataset, view=view)
        export = b"".join(selectors.dataset_export(dataset=dataset, view=view, fmt="csv").chunks)
        out.append((page.rows, page.row_numbers, page.total, export))
    return out


def test_the_index_gives_the_answers_of_the_parquet_file(upload, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    dataset = upload(CSV * 1 + b"".join(f"{i},south,{i}.5,false\n".encode() for i in range(6, 40)))
    from django.core.cache import cache

    cache.clear()
    before = _answers(dataset)
    path = dataset_index_build(dataset_pk=dataset.pk)
    assert os.path.exists(path) and path == selectors.dataset_index_path(dataset=dataset)
    cache.clear()
    assert _answers(dataset) == before


def test_an_upload_asks_for_its_index_once_committed(upload, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.VAR_DIR = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        dataset = upload(CSV)
    assert os.path.exists(selectors.dataset_index_path(dataset=dataset))


def test_deleting_the_last_version_of_some_bytes_removes_their_index(upload, admin_user, settings, tmp_path,
                                                                     django_capture_on_commit_callbacks):
    from datasets.services import dataset_delete

    settings.VAR_DIR = tmp_path
    dataset = upload(CSV)
    path = dataset_index_build(dataset_pk=dataset.pk)
    with django_capture_on_commit_callbacks(execute=True):
        dataset_delete(user=admin_user, dataset=dataset)
    assert not os.path.exists(path)


def test_a_dataset_stored_as_csv_before_versions_previews_with_typed_filters(analyst, client_for):
    import io

    import pandas as pd

    from simulations.training.datasets import _create
    from simulations.training.models import DatasetFormat, DatasetKind

    data = b"x,y,label\n1,2.5,a\n3,4.5,b\n5,6.5,a\n"
    dataset = _create(name="early", kind=DatasetKind.UPLOADED, fmt=DatasetFormat.CSV, data=data,
                      frame=pd.read_csv(io.BytesIO(data)), source={"filename": "early.csv"}, user=analyst)
    response = client_for(analyst).get(f"/api/datasets/{dataset.pk}/preview/",
                                       {"col": "y", "op": "gt", "val": "3", "sort": "-x"})
    assert response.status_code == 200 and response.json()["rows"] == [[5, 6.5, "a"], [3, 4.5, "b"]]
