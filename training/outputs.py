"""What `calltime train` writes to its output directory, which the pipeline stages and then
publishes under each model version: one name for each file. (Light: no pandas, no sklearn, so
the steps that only move these files do not load the training stack.)"""

from __future__ import annotations

from inference_code.artifact_layout import ARTIFACT_FILE, METADATA_FILE

METRICS_FILE = "metrics.json"
REPORT_FILE = "report.html"
REJECTS_FILE = "rejects.csv"
OUTPUT_FILES = (ARTIFACT_FILE, METADATA_FILE, METRICS_FILE, REPORT_FILE, REJECTS_FILE)
