"""Uploads are refused early when too large, streamed to temporary files, and parsed in batches."""
from __future__ import annotations

import io

import pandas as pd
import pytest
from django.core.files.uploadhandler import StopUpload
from django.test import RequestFactory

from config.uploads import BoundedUploadHandler
from simulations import user_files
from simulations.engine import PositionsFormatError, generate_portfolio

pytestmark = pytest.mark.django_db


def _csv(n: int = 300, seed: int = 1) -> bytes:
    return generate_portfolio(seed=seed, n_positions=n).to_csv(index=False).encode()


def test_an_upload_declaring_more_than_the_limit_is_refused_before_it_is_read(client_for, viewer, settings):
    settings.SIMULATION_UPLOAD_MAX_BYTES = 2048
    client = client_for(viewer)
    # The declared length alone decides: the body is never read.
    response = client.generic(
        "POST", "/api/simulations/compute/", b"", content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(50 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert "the limit is 2,048 bytes" in response.json()["detail"]
    page = client.generic(
        "POST", "/simulations/compute/", b"", content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(50 * 1024 * 1024),
    )
    assert page.status_code == 413 and b"the limit is 2,048 bytes" in page.content


def test_a_file_passing_the_limit_while_streaming_is_refused_with_the_limit(client_for, viewer, settings):
    settings.SIMULATION_UPLOAD_MAX_BYTES = 4096
    upload = io.BytesIO(_csv(300))
    upload.name = "book.csv"
    response = client_for(viewer).post("/api/simulations/compute/", {"positions": upload})
    assert response.status_code == 400 and "the limit is 4,096 bytes" in response.json()["detail"]
    upload.seek(0)
    page = client_for(viewer).post("/simulations/compute/", {"positions": upload})
    assert page.status_code == 400 and b"the limit is 4,096 bytes" in page.content


def test_the_handler_stops_counting_into_a_file_past_the_limit(settings):
    settings.SIMULATION_UPLOAD_MAX_BYTES = 10
    request = RequestFactory().post("/api/simulations/compute/")
    handler = BoundedUploadHandler(request)
    handler.handle_raw_input(None, {}, 0, b"x")
    assert handler.receive_data_chunk(b"12345", 0) == b"12345"
    with pytest.raises(StopUpload):
        handler.receive_data_chunk(b"123456", 5)
    assert "the limit is 10 bytes" in request.upload_refused


def test_large_uploads_spool_to_a_temporary_file(settings):
    from django.core.files.uploadhandler import TemporaryFileUploadHandler

    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= 1024 * 1024
    assert "django.core.files.uploadhandler.TemporaryFileUploadHandler" in settings.FILE_UPLOAD_HANDLERS
    assert TemporaryFileUploadHandler  # the handler Django uses above FILE_UPLOAD_MAX_MEMORY_SIZE


def test_batched_reading_gives_the_same_positions_as_reading_at_once(monkeypatch):
    data = _csv(1000, seed=4)
    whole = user_files.read_positions_in_batches(io.BytesIO(data), "csv")
    monkeypatch.setattr(user_files, "BATCH_ROWS", 97)
    batched = user_files.read_positions_in_batches(io.BytesIO(data), "csv")
    pd.testing.assert_frame_equal(whole, batched)
    parquet = io.BytesIO()
    generate_portfolio(seed=4, n_positions=1000).to_parquet(parquet, index=False)
    parquet.seek(0)
    from_parquet = user_files.read_positions_in_batches(parquet, "parquet")
    assert len(from_parquet) == 1000


def test_batched_reading_names_the_row_in_the_file_not_in_the_batch(monkeypatch):
    frame = generate_portfolio(seed=2, n_positions=500)
    frame.loc[321, "notional"] = -5
    monkeypatch.setattr(user_files, "BATCH_ROWS", 100)
    with pytest.raises(PositionsFormatError) as caught:
        user_files.read_positions_in_batches(io.BytesIO(frame.to_csv(index=False).encode()), "csv")
    assert caught.value.row == 322 and caught.value.column == "notional"


def test_a_position_id_repeated_in_another_batch_is_refused(monkeypatch):
    frame = generate_portfolio(seed=2, n_positions=300)
    frame.loc[250, "position_id"] = frame.loc[10, "position_id"]
    monkeypatch.setattr(user_files, "BATCH_ROWS", 100)
    with pytest.raises(PositionsFormatError) as caught:
        user_files.read_positions_in_batches(io.BytesIO(frame.to_csv(index=False).encode()), "csv")
    assert caught.value.row == 251 and "duplicate" in caught.value.message


def test_a_header_only_file_has_no_positions():
    with pytest.raises(PositionsFormatError, match="no positions"):
        user_files.read_positions_in_batches(io.BytesIO(b"position_id,product,notional\n"), "csv")


def test_reading_stops_as_soon_as_the_file_holds_more_positions_than_the_limit(monkeypatch):
    data = _csv(1000, seed=4) + b"this row is never read,,\n"
    monkeypatch.setattr(user_files, "BATCH_ROWS", 100)
    with pytest.raises(PositionsFormatError, match="more than 250 positions"):
        user_files.read_positions_in_batches(io.BytesIO(data), "csv", max_positions=250)


def test_the_compute_api_and_page_refuse_more_positions_than_the_setting(client_for, viewer, settings):
    settings.SIMULATION_COMPUTE_MAX_POSITIONS = 200
    upload = io.BytesIO(_csv(300))
    upload.name = "book.csv"
    response = client_for(viewer).post("/api/simulations/compute/", {"positions": upload})
    assert response.status_code == 400 and "more than 200 positions" in response.json()["detail"]
    upload.seek(0)
    page = client_for(viewer).post("/simulations/compute/", {"positions": upload})
    assert page.status_code == 400 and b"more than 200 positions" in page.content
