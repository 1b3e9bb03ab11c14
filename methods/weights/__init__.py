"""Pretrained weights files: one resolver with provenance and verification, and the FID InceptionV3 weights from the
package index (importing this package imports nothing)."""
