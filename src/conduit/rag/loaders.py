"""Loaders: files and folders into `Document`s, with `source` (and offsets) in metadata.

Text and Markdown are read as UTF-8; HTML goes through the standard library's
`html.parser` (scripts, styles and markup dropped, block elements become line breaks);
PDF needs `pypdf` (`pip install "conduit[pdf]"`), one document per page with `page`
(1-based) and `start` (offset of the page in the whole text) in metadata.

Example:
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.md").write_text("# Title\\nBody")
    >>> [d.metadata["source"].endswith("a.md") for d in load_directory(folder)]
    [True]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from html.parser import HTMLParser
from pathlib import Path

from conduit.errors import MissingDependencyError, ValidationError
from conduit.rag.documents import Document

__all__ = [
    "LOADERS",
    "html_to_text",
    "load_directory",
    "load_file",
    "load_html",
    "load_markdown",
    "load_pdf",
    "load_text",
]

PDF_HINT = 'pip install "conduit[pdf]"  (or: pip install pypdf)'


def _meta(path: Path, kind: str) -> dict[str, object]:
    return {"source": str(path), "type": kind, "start": 0}


def load_text(path: str | Path) -> list[Document]:
    """A UTF-8 text file as one document.

    Example:
        >>> import pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "n.txt"
        >>> _ = p.write_text("hello")
        >>> load_text(p)[0].text
        'hello'
    """
    path = Path(path)
    return [Document(path.read_text(encoding="utf-8"), _meta(path, "text"))]


def load_markdown(path: str | Path) -> list[Document]:
    """A Markdown file as one document, its source kept as written (split it with
    `MarkdownSplitter` to keep the headers as metadata); `title` is its first `#` header.

    Example:
        >>> import pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.md"
        >>> _ = p.write_text("# Intro\\ntext")
        >>> load_markdown(p)[0].metadata["title"]
        'Intro'
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    meta = _meta(path, "markdown")
    for line in text.splitlines():
        if line.startswith("# "):
            meta["title"] = line[2:].strip()
            break
    return [Document(text, meta)]


_BLOCK = {
    "p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header",
    "footer", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "hr", "title",
}  # fmt: skip
_SKIP = {"script", "style", "noscript", "template", "head"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _SKIP:
            self._skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.parts.append(data)

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self.parts).splitlines())
        out: list[str] = []
        for line in lines:
            if line or (out and out[-1]):
                out.append(line)
        return "\n".join(out).strip()


def html_to_text(html: str) -> tuple[str, str]:
    """Visible text and title of an HTML page.

    Example:
        >>> html_to_text("<title>T</title><p>a <b>b</b></p><script>x()</script><p>c</p>")
        ('a b\\n\\nc', 'T')
    """
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.text(), parser.title.strip()


def load_html(path: str | Path) -> list[Document]:
    """An HTML file's visible text as one document (`title` in metadata).

    Example:
        >>> import pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "p.html"
        >>> _ = p.write_text("<h1>Hi</h1><p>there</p>")
        >>> load_html(p)[0].text
        'Hi\\n\\nthere'
    """
    path = Path(path)
    text, title = html_to_text(path.read_text(encoding="utf-8", errors="replace"))
    meta = _meta(path, "html")
    if title:
        meta["title"] = title
    return [Document(text, meta)]


def load_pdf(path: str | Path) -> list[Document]:
    """A PDF, one document per page with text (`page`, `start` offset in metadata).

    Example:
        >>> load_pdf("missing.pdf")  # doctest: +SKIP
    """
    try:
        from pypdf import PdfReader
    except ImportError:
        raise MissingDependencyError(
            f"PDF loading needs pypdf; install it with: {PDF_HINT}"
        ) from None
    path = Path(path)
    reader = PdfReader(str(path))
    docs: list[Document] = []
    offset = 0
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text() or ""
        if text.strip():
            meta = _meta(path, "pdf")
            meta.update(page=number, start=offset, pages=len(reader.pages))
            docs.append(Document(text, meta))
        offset += len(text) + 1  # pages joined with one line break
    return docs


LOADERS: dict[str, Callable[[Path], list[Document]]] = {
    ".txt": load_text,
    ".text": load_text,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
}
"""File suffix → loader; add to it to teach `load_file` a new kind."""


def load_file(path: str | Path) -> list[Document]:
    """Documents from one file, by its suffix (see `LOADERS`).

    Example:
        >>> load_file("notes.docx")
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: no loader for '.docx' files (notes.docx)...
    """
    path = Path(path)
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise ValidationError(
            f"no loader for {path.suffix or 'suffix-less'!r} files ({path}); "
            f"known: {', '.join(sorted(LOADERS))}"
        )
    if not path.is_file():
        raise ValidationError(f"{path} is not a file")
    return loader(path)


def _files(root: Path, pattern: str, suffixes: Iterable[str]) -> list[Path]:
    allowed = {s.lower() for s in suffixes}
    return sorted(
        p
        for p in root.rglob(pattern)
        if p.is_file()
        and p.suffix.lower() in allowed
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def load_directory(
    path: str | Path, *, pattern: str = "*", suffixes: Iterable[str] | None = None
) -> list[Document]:
    """Documents from every known file under `path` (recursively, hidden folders
    skipped, sorted by path). `path` may also be a single file.

    Example:
        >>> load_directory("/nonexistent")
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: /nonexistent does not exist...
    """
    root = Path(path)
    if not root.exists():
        raise ValidationError(f"{root} does not exist")
    if root.is_file():
        return load_file(root)
    docs: list[Document] = []
    for file in _files(root, pattern, suffixes if suffixes is not None else LOADERS):
        docs.extend(load_file(file))
    return docs
