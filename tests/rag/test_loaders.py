"""Loaders: text, Markdown, HTML, PDF and folders, with source and offsets."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import pytest

from conduit.errors import MissingDependencyError, ValidationError
from conduit.rag.documents import Document
from conduit.rag.loaders import (
    load_directory,
    load_file,
    load_html,
    load_pdf,
)


def tiny_pdf(pages: list[str]) -> bytes:
    """A valid PDF with one line of Helvetica text per page (built by hand, no files)."""
    objects: list[bytes] = []
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def test_pdf_pages_become_documents_with_page_numbers(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(tiny_pdf(["Revenue grew nicely", "Costs fell sharply"]))
    docs = load_file(path)
    assert [d.text.strip() for d in docs] == ["Revenue grew nicely", "Costs fell sharply"]
    assert [d.metadata["page"] for d in docs] == [1, 2]
    assert docs[0].metadata["start"] == 0
    assert docs[1].metadata["start"] == len(docs[0].text) + 1
    assert all(d.metadata["source"] == str(path) and d.metadata["type"] == "pdf" for d in docs)


def test_pdf_without_pypdf_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_pypdf(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pypdf":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pypdf)
    with pytest.raises(MissingDependencyError, match=r"conduit\[pdf\]"):
        load_pdf(tmp_path / "x.pdf")


def test_html_keeps_visible_text_only(tmp_path: Path) -> None:
    path = tmp_path / "page.htm"
    path.write_text(
        "<html><head><title>Guide</title><style>p{}</style></head><body>"
        "<h1>Setup</h1><p>Run <code>make</code> &amp; wait.</p>"
        "<script>alert(1)</script><ul><li>one</li><li>two</li></ul></body></html>"
    )
    [doc] = load_html(path)
    assert doc.text == "Setup\n\nRun make & wait.\n\none\n\ntwo"
    assert doc.metadata["title"] == "Guide"


def test_directory_loads_known_files_recursively(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "a.txt").write_text("plain")
    (tmp_path / "sub" / "b.md").write_text("# Bee\nbuzz")
    (tmp_path / "sub" / "c.html").write_text("<p>see</p>")
    (tmp_path / ".hidden" / "d.md").write_text("secret")
    (tmp_path / "e.bin").write_bytes(b"\x00")
    docs = load_directory(tmp_path)
    assert [(Path(d.metadata["source"]).name, d.text) for d in docs] == [
        ("a.txt", "plain"),
        ("b.md", "# Bee\nbuzz"),
        ("c.html", "see"),
    ]
    assert docs[1].metadata["title"] == "Bee"
    assert load_directory(tmp_path / "a.txt")[0].text == "plain"
    assert [d.text for d in load_directory(tmp_path, suffixes=[".md"])] == ["# Bee\nbuzz"]


async def test_indexing_loads_a_directory_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from conduit.rag import indexing
    from conduit.rag.stores.memory import MemoryVectorStore

    (tmp_path / "n.txt").write_text("note")
    threads: list[str] = []
    real = indexing.load_directory

    def spy(path: Path) -> list[Document]:
        threads.append(threading.current_thread().name)
        return real(path)

    monkeypatch.setattr(indexing, "load_directory", spy)
    report = await indexing.index_path(tmp_path, MemoryVectorStore(), "fake/hash")
    assert len(report.ids) == 1
    assert threads
    assert threads[0] != threading.main_thread().name


def test_unknown_or_missing_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no loader"):
        load_file(tmp_path / "x.docx")
    with pytest.raises(ValidationError, match="not a file"):
        load_file(tmp_path / "missing.md")
    with pytest.raises(ValidationError, match="does not exist"):
        load_directory(tmp_path / "nope")
