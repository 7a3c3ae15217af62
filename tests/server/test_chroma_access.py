"""Who may use the shared Chroma server: CHROMA_TOKEN, CHROMA_AUTH_HEADER, CHROMA_SSL.

`chroma run` (chromadb 1.5.9) enforces no authentication at all: its Rust frontend is started
with the no-op `()` authenticator, whatever CHROMA_SERVER_AUTHN_* says. The first test holds the
installed server to that, so the README is revisited the day it changes. Protection therefore
comes from a proxy in front of it; here a small token-checking, TLS-terminating one
(`bot.devtools.loopback.auth_proxy`) stands in front of the real `chroma run`, and the real
client and the real `career-bot` command go through it.

Each test starts a real `chroma run` process (via the `served` fixture): marked slow.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.devtools.loopback.auth_proxy import TokenProxy, self_signed_certificate
from bot.devtools.loopback.processes import bot_command
from core.index import IndexStore, StoreRefused
from core.settings import Settings
from tests.conftest import make_settings
from tests.server.conftest import Served, run_cli

pytestmark = pytest.mark.slow

TOKEN = "t0ken-for-tests_42"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    try:
        return self_signed_certificate(tmp_path_factory.mktemp("tls"))
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def bearer_proxy(served: Served, certificate: tuple[Path, Path]) -> Iterator[TokenProxy]:
    """TLS on 127.0.0.1, forwarding to `served` only requests with `Authorization: Bearer`."""
    with TokenProxy(
        served.server.port, "Authorization", f"Bearer {TOKEN}", certificate=certificate
    ) as proxy:
        yield proxy


def through(proxy: TokenProxy, data_dir: Path, knowledge: Path, **values: object) -> Settings:
    return make_settings(
        data_dir, knowledge_dir=knowledge, chroma_host="127.0.0.1", chroma_port=proxy.port, **values
    )


def tls(certificate: tuple[Path, Path], **values: object) -> dict[str, object]:
    return {"chroma_ssl": True, "chroma_ca_file": certificate[0], **values}


def test_chroma_run_itself_lets_anyone_read_and_write(served: Served, tmp_path: Path) -> None:
    """Why the README says to bind it to a private interface: no token, a wrong token, the same."""
    anyone = IndexStore(
        make_settings(tmp_path, chroma_host="127.0.0.1", chroma_port=served.server.port)
    )
    pointer = anyone.pointer()
    assert pointer is not None
    assert pointer.collection == served.seeded.collection
    liar = IndexStore(
        make_settings(
            tmp_path / "liar",
            chroma_host="127.0.0.1",
            chroma_port=served.server.port,
            chroma_token="not-the-token",
        )
    )
    scratch = liar.client.create_collection("anyone-may-write", embedding_function=None)
    liar.client.delete_collection(scratch.name)


@pytest.mark.parametrize(
    ("header", "sent"),
    [("Authorization", f"Bearer {TOKEN}"), ("X-Chroma-Token", TOKEN)],
)
def test_the_token_goes_with_every_request_over_tls(
    served: Served,
    certificate: tuple[Path, Path],
    tmp_path: Path,
    header: str,
    sent: str,
) -> None:
    with TokenProxy(served.server.port, header, sent, certificate=certificate) as proxy:
        settings = through(
            proxy,
            tmp_path,
            served.knowledge,
            **tls(certificate, chroma_token=TOKEN, chroma_auth_header=header),
        )
        store = IndexStore(settings)
        pointer = store.pointer()
        assert pointer is not None
        assert pointer.collection == served.seeded.collection
        chunks = store.read_chunks(pointer.collection)
        assert len(chunks) == served.seeded.chunks
    assert len(proxy.seen) >= 3  # the access check, the client's own start-up, the reads
    assert all(seen.allowed for seen in proxy.seen)
    assert all(seen.headers.get(header) == sent for seen in proxy.seen)


@pytest.mark.parametrize(
    ("token", "status"),
    [(None, "HTTP 401"), ("a-wrong-token", "HTTP 403")],
)
def test_a_missing_or_wrong_token_is_refused_naming_the_setting(
    served: Served,
    certificate: tuple[Path, Path],
    bearer_proxy: TokenProxy,
    tmp_path: Path,
    token: str | None,
    status: str,
) -> None:
    store = IndexStore(
        through(bearer_proxy, tmp_path, served.knowledge, **tls(certificate, chroma_token=token))
    )
    with pytest.raises(StoreRefused) as refused:
        store.pointer()
    said = str(refused.value)
    assert status in said
    assert "CHROMA_TOKEN" in said
    assert "a-wrong-token" not in said
    assert not any(seen.allowed for seen in bearer_proxy.seen)


def test_tls_that_does_not_match_names_the_tls_settings(
    served: Served, certificate: tuple[Path, Path], bearer_proxy: TokenProxy, tmp_path: Path
) -> None:
    # TLS on, but the proxy's certificate is signed by no CA this machine trusts.
    unverified = IndexStore(
        through(bearer_proxy, tmp_path, served.knowledge, chroma_ssl=True, chroma_token=TOKEN)
    )
    with pytest.raises(StoreRefused, match="CHROMA_CA_FILE"):
        unverified.pointer()
    # TLS off, talking plain HTTP to a TLS endpoint: no token ever crosses the wire in clear.
    plain = IndexStore(through(bearer_proxy, tmp_path, served.knowledge, chroma_token=TOKEN))
    with pytest.raises(StoreRefused, match="CHROMA_SSL"):
        plain.pointer()
    assert bearer_proxy.seen == []
    # TLS on against the bare `chroma run`, which speaks plain HTTP only.
    bare = IndexStore(
        make_settings(
            tmp_path,
            chroma_host="127.0.0.1",
            chroma_port=served.server.port,
            **tls(certificate, chroma_token=TOKEN),
        )
    )
    with pytest.raises(StoreRefused, match="TLS"):
        bare.pointer()


def cli_env(
    served: Served, proxy: TokenProxy, data_dir: Path, certificate: tuple[Path, Path], **extra: str
) -> dict[str, str]:
    env = served.env(data_dir) | {
        "CHROMA_PORT": str(proxy.port),
        "CHROMA_SSL": "true",
        "CHROMA_CA_FILE": str(certificate[0]),
    }
    return env | extra


def assert_refused(result: subprocess.CompletedProcess[str], secret: str = "") -> None:
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 2, said
    assert "refused this client (HTTP" in said
    assert "CHROMA_TOKEN" in said
    assert "Traceback" not in said
    if secret:
        assert secret not in said


def test_commands_refused_by_the_server_say_which_setting_to_fix(
    served: Served, certificate: tuple[Path, Path], bearer_proxy: TokenProxy, tmp_path: Path
) -> None:
    missing = cli_env(served, bearer_proxy, tmp_path / "a", certificate)
    wrong = cli_env(served, bearer_proxy, tmp_path / "b", certificate, CHROMA_TOKEN="wr0ng-token")
    assert_refused(run_cli(missing, "ingest", cwd=tmp_path))
    assert_refused(run_cli(wrong, "ingest", "--if-stale", cwd=tmp_path), "wr0ng-token")
    assert_refused(run_cli(missing, "ask", "팀 리더의 업무는?", cwd=tmp_path))
    assert_refused(
        run_cli(wrong, "ask", "--json", "팀 리더의 업무는?", cwd=tmp_path), "wr0ng-token"
    )
    batch = subprocess.run(
        [*bot_command(), "ask", "--jsonl"],
        env=wrong,
        cwd=tmp_path,
        input='{"q": "팀 리더의 업무는?"}\n',
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert_refused(batch, "wr0ng-token")
    assert not any(seen.allowed for seen in bearer_proxy.seen)


def test_commands_with_the_token_ingest_and_answer_through_the_proxy(
    served: Served, certificate: tuple[Path, Path], bearer_proxy: TokenProxy, tmp_path: Path
) -> None:
    env = cli_env(served, bearer_proxy, tmp_path / "data", certificate, CHROMA_TOKEN=TOKEN)
    ingest = run_cli(env, "ingest", "--json", cwd=tmp_path)
    assert ingest.returncode == 0, ingest.stderr
    asked = run_cli(env, "ask", "--json", "팀 리더의 업무는?", cwd=tmp_path)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["abstained"] is False
    assert answer["citations"]
    assert bearer_proxy.seen
    assert all(seen.allowed for seen in bearer_proxy.seen)
    assert TOKEN not in asked.stderr + ingest.stderr + ingest.stdout
