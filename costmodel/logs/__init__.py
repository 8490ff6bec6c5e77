"""Platform logs: read them, bill them.

``reader`` is the front door (``read_logs``, ``bill_from_logs``, ``expand_paths``);
``formats`` detects and parses each format (Lambda REPORT text and ``platform.report``
JSON, Alibaba FC, CSV); ``aws_report_fast`` is the byte-level fast path for REPORT lines;
``bill`` reduces billed durations to exact histograms (:class:`LogBill`).
"""
