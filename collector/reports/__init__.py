"""Monthly and quarterly reports (DESIGN §12): the figures (:mod:`.model`), gathered from the
database with the accounting functions (:mod:`.build`), the contract score (:mod:`.score`),
the Excel workbook (:mod:`.workbook`) and frozen months (:mod:`.snapshots`).

Imports point down only: accounting, alerting's work-order rules, inventory; never web or cli.
"""
