"""A generated corpus of purchase orders (PDF) with their true fields (JSON).

`generate.py` writes it (deterministic for a seed); `python tests/po_corpus/generate.py
--help`. The tests generate a fixed subset at run time (tests/integration/purchase_orders),
the benchmark the whole corpus (bench/po_intake.py). Nothing here is copied from real
documents: the chains, products and numbers are invented (sfa/demo/modern_trade.py).
"""
