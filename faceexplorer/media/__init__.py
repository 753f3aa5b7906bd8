"""Readers of image media (files on disk) into ready-to-draw numpy arrays; no Qt, no detector
(a caller that wants faces found passes a finder in)."""
