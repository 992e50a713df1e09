"""The corpus subset of `make test` (tests/po_corpus: every layout, text and scan), read
once per session: OCR on 2 cores is the slow part."""

import json

import pytest
from po_corpus import generate

from integrations.pdf.reader import PdfReader


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict[str, tuple[bytes, dict]]:
    out = tmp_path_factory.mktemp("po-corpus")
    wanted = set(generate.TEST_SUBSET)
    generate.write(out, [s for s in generate.specs() if s.id in wanted], log=lambda _: None)
    return {
        doc: ((out / f"{doc}.pdf").read_bytes(), json.loads((out / f"{doc}.json").read_text()))
        for doc in generate.TEST_SUBSET
    }


@pytest.fixture(scope="session")
def read_pages(corpus):
    reader = PdfReader()
    return {doc: reader.read(pdf) for doc, (pdf, _) in corpus.items()}


class CachedReader(PdfReader):
    """The real reader, but a corpus document already read this session is not read again."""

    def __init__(self, corpus, pages):
        self.by_bytes = {pdf: pages[doc] for doc, (pdf, _) in corpus.items()}

    def read(self, content):
        return self.by_bytes.get(content) or super().read(content)


@pytest.fixture
def reader(corpus, read_pages):
    return CachedReader(corpus, read_pages)


@pytest.fixture
def trade(db, world) -> dict[str, int]:
    """The modern-trade demo catalogue and chains (sfa/demo/trade.py) in team A: {code: id}
    of products (our SKUs) and chains (customer codes)."""
    from sfa.demo.trade import seed_trade

    ids = seed_trade(db, team_id=world.team_a.id)
    db.flush()
    return ids
