"""An evidence pack as an auditor keeps it: the checkpoint of the audit chain that tampering must not survive."""

from governance.evidence.pack import PackScope, build_pack


def build_registry_pack(path, as_of=None):
    """Build a real evidence pack of the whole registry into `path` (needs a signing key: see
    tests.evidence.test_pack_support.use_temporary_signing_key)."""
    with path.open("wb") as destination:
        return build_pack(scope=PackScope("registry"), as_of=as_of, destination=destination)
