"""Transient candidates: from the night's alert packets to a ranked, vetted counterpart.

``ztf`` parses ZTF public alert packets (Avro) into :class:`~tooflow.candidates.ztf.ZtfAlert`
(and gives the shipped 4.02 schema for writing packets); ``photometry`` holds the
measurement shape shared by packets and uploads; ``errors`` the recorded
rejection. The tables are in :mod:`tooflow.models.candidates` (docs/candidates.md).
"""
