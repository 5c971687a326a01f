"""Bad input to run_import: each is refused with a message that says what is wrong,
and nothing is written (no Run, RunLog or RunArtifact row, no artifact file)."""
import base64
import hashlib
import io
import json
import pickle
import random
import struct
import zipfile

import pytest
from django.core.exceptions import PermissionDenied

from runs.models import Run
from runs.services.exchange import ImportTooLarge, run_import
from tests.runs.test_exchange_support import (  # noqa: F401  (fixtures)
    artifact_bytes,
    artifact_root,
    assert_refused,
    edit_json,
    export_bytes,
    files_in,
    finished_run,
    forget,
    parquet_run,
    rezip,
    snapshot,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def exported(parquet_run, artifact_root):
    """A JSON export and a bundle of a run that is then gone from here, with its files."""
    data = {"json": export_bytes(parquet_run, "json"), "bundle": export_bytes(parquet_run, "bundle")}
    forget(parquet_run, artifact_root)
    return data


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return out.getvalue()


# ---------------------------------------------------------------------------
# Not a run export at all
# ---------------------------------------------------------------------------
def test_a_pickle_is_refused_and_never_loaded(artifact_root, tmp_path):
    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    assert_refused(artifact_root, pickle.dumps(Payload()), "pickle")
    assert not marker.exists()


@pytest.mark.parametrize(
    "data,match",
    [
        (b"run_id,kind,status\nrun_1,demo,SUCCEEDED\n", "unknown file format"),
        (b"\x01" + random.Random(4).randbytes(4096), "unknown file format"),
        (b"", "empty"),
        (b"PAR1 but not really parquet PAR1", "cannot be read as parquet"),
        (b"PK\x03\x04 truncated zip", "not a readable zip"),
    ],
    ids=["csv", "random-bytes", "empty", "fake-parquet", "fake-zip"],
)
def test_unknown_or_broken_formats_are_refused(artifact_root, data, match):
    assert_refused(artifact_root, data, match, kind="demo")


@pytest.mark.parametrize(
    "data,match",
    [
        (b'{"format": "runsight.run", "version": 1, "run": {', "malformed json"),
        (b"{" * 100_000, "malformed json"),
        (b'{"format": "\xff\xfe"}', "malformed json"),
        (b'{"hello": "world"}', "format marker"),
        (b'{"format": "runsight.run", "version": 7, "run": {}, "logs": [], "artifacts": []}', "version 7 is newer"),
    ],
    ids=["truncated", "deeply-nested", "not-utf8", "no-marker", "future-version"],
)
def test_malformed_or_foreign_json_is_refused(artifact_root, data, match):
    assert_refused(artifact_root, data, match)


# ---------------------------------------------------------------------------
# JSON exports with a wrong schema or wrong checksums
# ---------------------------------------------------------------------------
def _del_status(doc):
    del doc["run"]["status"]


def _set(path, value):
    def change(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


@pytest.mark.parametrize(
    "change,match",
    [
        (_del_status, "run.status is missing"),
        (_set(["run", "kind"], "astrology"), "unknown run kind 'astrology'"),
        (_set(["run", "status"], "RUNNING"), "only finished runs"),
        (_set(["run", "trigger"], "MAGIC"), "run.trigger must be one of"),
        (_set(["run", "id"], "not-a-uuid"), "is not a uuid"),
        (_set(["run", "run_id"], "../etc"), "run.run_id must be"),
        (_set(["run", "params", "steps"], 99), "params_hash does not match"),
        (_set(["run", "seed"], "seven"), "run.seed must be a whole number, not a string"),
        (_set(["logs"], "none"), "logs must be a list"),
        (_set(["logs", 0, "level"], "LOUD"), "logs[0].level must be one of"),
        (_set(["artifacts", 0, "name"], "../../evil"), "not a valid result name"),
        (_set(["artifacts", 0, "sha256"], "xyz"), "sha256 must be a sha-256"),
        (_set(["artifacts", 0, "encoding"], "hex"), "encoding must be"),
    ],
    ids=[
        "missing-status", "unknown-kind", "active-status", "bad-trigger", "bad-uuid", "bad-run-id",
        "params-changed", "seed-type", "logs-type", "log-level", "artifact-name", "artifact-sha", "encoding",
    ],
)
def test_a_json_export_with_a_wrong_schema_is_refused(exported, artifact_root, change, match):
    assert_refused(artifact_root, edit_json(exported["json"], change), match)


def test_several_schema_errors_are_named_together(exported, artifact_root):
    def change(doc):
        del doc["run"]["status"]
        doc["run"]["trigger"] = 3

    error = assert_refused(artifact_root, edit_json(exported["json"], change), "run.status is missing")
    assert "run.trigger must be a string, not a number" in error.message


def test_a_json_export_with_a_wrong_run_checksum_is_refused_and_its_files_removed(exported, artifact_root):
    altered = edit_json(exported["json"], _set(["run", "checksum"], "0" * 64))
    assert_refused(artifact_root, altered, "run checksum does not match")
    assert files_in(artifact_root) == set()  # the results were written, then removed with the rollback


def test_a_json_export_with_altered_result_bytes_is_refused(exported, artifact_root):
    def change(doc):
        raw = bytearray(base64.b64decode(doc["artifacts"][-1]["data"]))
        raw[5] ^= 0x01
        doc["artifacts"][-1]["data"] = base64.b64encode(bytes(raw)).decode()

    assert_refused(artifact_root, edit_json(exported["json"], change), "sha-256 of result.json does not match")


def test_a_json_export_with_bad_base64_is_refused(exported, artifact_root):
    assert_refused(artifact_root, edit_json(exported["json"], _set(["artifacts", 0, "data"], "***")), "not valid base64")


def test_a_refused_import_keeps_files_other_runs_share(parquet_run, artifact_root, analyst):
    """The store is content-addressed: a refused copy must not delete the original's files."""
    altered = edit_json(export_bytes(parquet_run, "json"), _set(["run", "checksum"], "f" * 64))
    results = artifact_bytes(parquet_run)
    assert_refused(artifact_root, altered, "run checksum does not match", actor=analyst, as_new=True)
    assert artifact_bytes(parquet_run) == results


# ---------------------------------------------------------------------------
# Tampered bundles
# ---------------------------------------------------------------------------
def test_a_bundle_with_a_changed_result_byte_is_refused(exported, artifact_root):
    def change(name, data):
        if name == "results/positions.parquet":
            data = bytearray(data)
            data[50] ^= 0x01
            return bytes(data)
        return data

    assert_refused(artifact_root, rezip(exported["bundle"], change), "sha-256 of positions.parquet does not match")


def _manifest(change):
    def on_member(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        change(manifest)
        return json.dumps(manifest).encode()

    return on_member


def test_a_bundle_with_a_changed_manifest_checksum_is_refused(exported, artifact_root):
    altered = rezip(exported["bundle"], _manifest(lambda m: m.update(checksum="1" * 64)))
    assert_refused(artifact_root, altered, "the bundle was altered")


def test_a_bundle_with_a_changed_member_digest_is_refused(exported, artifact_root):
    def change(manifest):
        manifest["members"][0]["sha256"] = "2" * 64

    assert_refused(artifact_root, rezip(exported["bundle"], _manifest(change)), "altered")


def test_a_bundle_whose_digests_were_all_recomputed_is_still_caught_by_the_run_checksum(exported, artifact_root):
    """Changing a result and every per-file digest still leaves the run checksum wrong."""
    with zipfile.ZipFile(io.BytesIO(exported["bundle"])) as bundle:
        members = {name: bundle.read(name) for name in bundle.namelist()}
    result = json.loads(members["results/result.json"])
    result["values"][0] = 1e9
    members["results/result.json"] = json.dumps(result).encode()
    run_doc = json.loads(members["run.json"])
    for artifact in run_doc["artifacts"]:
        if artifact["name"] == "result.json":
            artifact["sha256"] = hashlib.sha256(members["results/result.json"]).hexdigest()
            artifact["size_bytes"] = len(members["results/result.json"])
    members["run.json"] = json.dumps(run_doc).encode()
    manifest = json.loads(members["manifest.json"])
    for member in manifest["members"]:
        member["sha256"] = hashlib.sha256(members[member["name"]]).hexdigest()
        member["size_bytes"] = len(members[member["name"]])
    members["manifest.json"] = json.dumps(manifest).encode()
    assert_refused(artifact_root, _zip(members), "run checksum does not match")
    assert files_in(artifact_root) == set()


def test_a_bundle_missing_a_result_is_refused(exported, artifact_root):
    altered = rezip(exported["bundle"], lambda name, data: None if name == "results/result.json" else data)
    assert_refused(artifact_root, altered, "listed but absent: results/result.json")


def test_a_bundle_with_an_extra_member_is_refused(exported, artifact_root):
    with zipfile.ZipFile(io.BytesIO(exported["bundle"])) as bundle:
        members = {name: bundle.read(name) for name in bundle.namelist()}
    members["results/extra.bin"] = b"smuggled"
    assert_refused(artifact_root, _zip(members), "present but not listed: results/extra.bin")


# ---------------------------------------------------------------------------
# Hostile zips
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../x", "results/../../x", "/abs", "C:/windows/x", "..\\x"])
def test_a_zip_with_an_unsafe_member_name_is_refused(artifact_root, name):
    data = _zip({"manifest.json": b"{}", "run.json": b"{}", name: b"x"})
    assert_refused(artifact_root, data, "unsafe name")


def test_a_zip_with_too_many_members_is_refused(artifact_root, settings):
    settings.RUN_IMPORT_MAX_MEMBERS = 10
    data = _zip({f"results/{i}.txt": b"x" for i in range(11)})
    assert_refused(artifact_root, data, "holds 11 members; at most 10")


def test_a_zip_bomb_is_refused_by_its_compression_ratio_before_it_is_inflated(artifact_root):
    data = _zip({"manifest.json": b"{}", "run.json": b"{}", "results/zeros.bin": bytes(50 * 1024 * 1024)})
    assert len(data) < 200 * 1024
    assert_refused(artifact_root, data, "inflates")


def test_a_zip_that_inflates_beyond_the_size_limit_is_refused(artifact_root, settings):
    digits = "".join(random.Random(1).choices("0123456789", k=3 * 1024 * 1024)).encode()
    data = _zip({"manifest.json": b"{}", "run.json": b"{}", "results/digits.txt": digits})
    settings.RUN_IMPORT_MAX_BYTES = 2 * 1024 * 1024
    assert len(data) < settings.RUN_IMPORT_MAX_BYTES  # the zip itself fits; what it inflates to does not
    assert_refused(artifact_root, data, "inflates to", exc=ImportTooLarge)


def test_a_member_larger_than_its_zip_entry_says_is_refused(exported, artifact_root):
    """The declared size is checked first, the bytes are counted while reading: a lie is caught."""
    data = bytearray(exported["bundle"])
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as bundle:
        info = bundle.getinfo("results/positions.parquet")
    # Patch the central directory's uncompressed size of that member down to 10 bytes.
    entry = data.find(b"PK\x01\x02")
    while entry != -1:
        name_len = struct.unpack("<H", data[entry + 28: entry + 30])[0]
        if data[entry + 46: entry + 46 + name_len] == info.filename.encode():
            data[entry + 24: entry + 28] = struct.pack("<I", 10)
            break
        entry = data.find(b"PK\x01\x02", entry + 4)
    assert_refused(artifact_root, bytes(data), "positions.parquet")


def test_an_encrypted_or_exotic_member_is_refused(artifact_root):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as bundle:
        bundle.writestr(zipfile.ZipInfo("run.json"), b"{}", compress_type=zipfile.ZIP_BZIP2)
    assert_refused(artifact_root, out.getvalue(), "compression method")


# ---------------------------------------------------------------------------
# Limits and permissions
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["json", "bundle"])
def test_a_file_over_the_size_limit_is_refused(exported, artifact_root, settings, fmt):
    settings.RUN_IMPORT_MAX_BYTES = 4096
    assert_refused(artifact_root, exported[fmt], "limited to 4,096 bytes", exc=ImportTooLarge)


def test_a_piped_file_over_the_size_limit_is_refused_while_reading(exported, artifact_root, settings):
    settings.RUN_IMPORT_MAX_BYTES = 4096

    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def seekable(self):
            return False

        def read(self, n=-1):
            return self.inner.read(n)

    before = snapshot(artifact_root)
    with pytest.raises(ImportTooLarge, match="over"):
        run_import(file=Pipe(exported["json"]), actor=None)
    assert snapshot(artifact_root) == before


def test_a_viewer_may_not_import(exported, artifact_root, viewer):
    before = snapshot(artifact_root)
    with pytest.raises(PermissionDenied):
        run_import(file=exported["json"], actor=viewer)
    assert snapshot(artifact_root) == before


def test_a_user_who_cannot_see_the_kind_may_not_import_it(exported, artifact_root, make_user):
    from django.contrib.auth.models import Permission

    importer = make_user()  # no role: grant only the import permission
    importer.user_permissions.add(Permission.objects.get(codename="import_run"))
    before = snapshot(artifact_root)
    with pytest.raises(PermissionDenied, match="Demo"):
        run_import(file=exported["json"], actor=importer)
    assert snapshot(artifact_root) == before


@pytest.mark.parametrize("kind,match", [(None, "say which kind"), ("astrology", "unknown run kind")])
def test_a_parquet_file_needs_a_known_kind(artifact_root, kind, match):
    from tests.runs.test_exchange_support import parquet_bytes

    assert_refused(artifact_root, parquet_bytes(), match, kind=kind)
    assert not Run.objects.exists()
