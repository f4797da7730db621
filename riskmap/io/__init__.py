"""Readers and writers: everything that touches the disk on the input side, plus atomic file replacement."""
