"""Which packets hold a picture no other picture references — what FFmpeg's ``skip_frame = NONREF`` drops.

PyAV's sparse and sequential runs (:func:`curate.frames.decoders.pyav.pyav_runs`) send an unwanted packet
with ``AVCodecContext.skip_frame`` NONREF; FFmpeg's decoders below then skip it when its picture headers
say nothing references it, so its frame never comes out. To still check every packet of a run against the
index, the run reads the same field the decoder reads, from the packet's first picture header:

- **H.264** (``avcC`` in mp4/Matroska: NAL units prefixed by their ``lengthSizeMinusOne + 1``-byte size):
  a slice (type 1, or 5 for IDR) with ``nal_ref_idc == 0`` (header bits 6..5). FFmpeg's ``h264dec.c`` skips
  every NAL unit with ``ref_idc == 0`` but SEI when ``skip_frame >= AVDISCARD_NONREF``.
- **HEVC** (``hvcC``): a VCL NAL unit (type 0–31) of a sub-layer non-reference type — TRAIL_N, TSA_N,
  STSA_N, RADL_N, RASL_N, RSV_VCL_N10/12/14: the even types up to 14 (FFmpeg's ``ff_hevc_nal_is_nonref``).
  Such a picture may still be referenced by a *higher* temporal sub-layer, so HEVC is skipped only when the
  ``hvcC`` record says the stream has one (``numTemporalLayers == 1``).
- **MPEG-1/2 video** and **MPEG-4 Part 2** (start codes): a B picture — ``picture_coding_type`` 3 after the
  picture start code ``00 00 01 00``, ``vop_coding_type`` 2 after the VOP start code ``00 00 01 B6``; their
  decoders (``mpeg12dec.c``, ``h263dec.c``) skip B pictures, which nothing references, at NONREF.

Anything else (VP9, whose decoder skips only frames that refresh no reference slot, which the packet
header would have to be parsed for; Annex B H.264/HEVC; libdav1d for AV1, which reads ``skip_frame`` once
when opened) is decoded whole: :func:`packet_format` says why. Frame threads see a per-packet change: FFmpeg's
``pthread_frame.c`` copies ``skip_frame`` from the caller's context into the worker's as each packet is
submitted (``submit_packet`` → ``update_context_from_user``).
"""

from __future__ import annotations

from dataclasses import dataclass

H264_SLICES = (1, 5)  # coded slice of a non-IDR / IDR picture
HEVC_NONREF = frozenset(range(0, 15, 2))  # TRAIL_N … RSV_VCL_N14


# decoder: (picture start code, the byte after it holding the type, that byte shifted right by, B's value)
PICTURE = b"\x00\x00\x01\x00", 1, 3, 3  # temporal_reference (10 bits), picture_coding_type (3 bits)
START_CODES = {"mpeg1video": PICTURE, "mpeg2video": PICTURE, "mpeg4": (b"\x00\x00\x01\xb6", 0, 6, 2)}


@dataclass(frozen=True)
class PacketFormat:
    """How to read a stream's packets: ``codec`` (a decoder's name) and, for H.264/HEVC, the byte count of
    each NAL unit's size prefix (0 for the start-code formats)."""

    codec: str
    length_size: int


def packet_format(stream) -> PacketFormat | str:
    """The :class:`PacketFormat` of a PyAV video ``stream`` whose decoder skips non-reference pictures per
    packet, or why it cannot be used (module docstring)."""
    context = stream.codec_context
    name = context.codec.name
    record = bytes(context.extradata or b"")
    if name in START_CODES:
        return PacketFormat(name, 0)
    if name not in ("h264", "hevc"):
        return f"decoder {name!r} is not one whose non-reference pictures are skipped"
    if len(record) < (7 if name == "h264" else 23) or record[0] != 1:
        return f"{name} without an {'avcC' if name == 'h264' else 'hvcC'} record (Annex B)"
    if name == "h264":
        return PacketFormat("h264", (record[4] & 0b11) + 1)
    if hevc_temporal_layers(record) != 1:
        return "HEVC without a single temporal sub-layer: its sub-layer non-reference pictures may be referenced"
    return PacketFormat("hevc", (record[21] & 0b11) + 1)


def hevc_temporal_layers(record: bytes | None) -> int:
    """``numTemporalLayers`` of an ``hvcC`` record (ISO/IEC 14496-15: byte 21, bits 5..3); 0 when unknown
    (no record, Annex B parameter sets, or a record that says it does not know)."""
    if not record or len(record) < 23 or record[0] != 1:
        return 0
    return (record[21] >> 3) & 0b111


def unreferenced(data, form: PacketFormat) -> bool:
    """Whether the packet ``data`` (bytes or a buffer) holds a picture nothing references, read from its
    first slice NAL unit or picture header; False when it holds none or is cut short."""
    if form.codec in START_CODES:
        code, offset, shift, b_picture = START_CODES[form.codec]
        data = bytes(data)
        at = data.find(code) + len(code) + offset
        return at >= len(code) + offset and at < len(data) and (data[at] >> shift) & 0b111 == b_picture
    view = memoryview(data)
    at, size = 0, form.length_size
    while at + size < len(view):
        length = int.from_bytes(view[at : at + size], "big")
        header = view[at + size]
        at += size + length
        if form.codec == "h264":
            kind = header & 0x1F
            if kind in H264_SLICES:
                return header & 0x60 == 0
        else:
            kind = (header >> 1) & 0x3F
            if kind < 32:
                return kind in HEVC_NONREF
    return False
