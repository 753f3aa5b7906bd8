"""Readers of image media (files on disk) into ready-to-draw numpy arrays; no Qt."""
