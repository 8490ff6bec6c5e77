"""Price sheets: the catalog's TOML files (``prices/``), and loading and checking them.

``sheets`` holds :class:`PriceSheet`, :class:`Meter`, :class:`Tier`, ``price_sheet``,
``load_price_sheet`` and ``providers``.
"""
