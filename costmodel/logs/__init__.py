"""Platform logs: read them, bill them.

``reader`` is the front door (``read_logs``, ``bill_from_logs``, ``expand_paths``);
``sources`` says which files a path, folder, glob or fsspec URL names and opens them
(gzip or not); ``formats`` detects and parses the line formats (Lambda REPORT text and
``platform.report`` JSON, Alibaba FC, CSV); ``records`` the formats read record by record
(``aws logs`` JSON, Logs Insights CSV, Cloud Logging JSON); ``aws_report_fast`` is the
byte-level fast path for REPORT lines; ``bill`` reduces billed durations to exact
histograms (:class:`LogBill`).
"""
