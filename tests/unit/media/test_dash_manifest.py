"""The strict MPD reader: what ffmpeg's dash muxer writes, and attempts to slip past it."""

from __future__ import annotations

import pytest

from strongroom.media.dash_manifest import parse_duration, parse_mpd
from strongroom.media.errors import VerificationError

# Trimmed from a real ffmpeg dash muxer run (two video representations and one audio).
MPD = """<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011"
  type="static" mediaPresentationDuration="PT3.0S" maxSegmentDuration="PT1.0S">
 <Period id="0" start="PT0.0S">
  <AdaptationSet id="0" contentType="video" segmentAlignment="true">
   <Representation id="0" mimeType="video/mp4" codecs="avc1.64000d" bandwidth="300000"
     width="320" height="240">
    <SegmentTemplate timescale="15360" initialization="init-$RepresentationID$.m4s"
      media="chunk-$RepresentationID$-$Number%05d$.m4s" startNumber="1">
     <SegmentTimeline><S t="0" d="15360" r="2" /></SegmentTimeline>
    </SegmentTemplate>
   </Representation>
   <Representation id="1" mimeType="video/mp4" codecs="avc1.64000b" bandwidth="100000"
     width="160" height="120">
    <SegmentTemplate timescale="15360" initialization="init-$RepresentationID$.m4s"
      media="chunk-$RepresentationID$-$Number%05d$.m4s" startNumber="1">
     <SegmentTimeline><S t="0" d="15360" r="2" /></SegmentTimeline>
    </SegmentTemplate>
   </Representation>
  </AdaptationSet>
  <AdaptationSet id="1" contentType="audio">
   <Representation id="2" mimeType="audio/mp4" codecs="mp4a.40.2" bandwidth="128000"
     audioSamplingRate="48000">
    <SegmentTemplate timescale="48000" initialization="init-$RepresentationID$.m4s"
      media="chunk-$RepresentationID$-$Number%05d$.m4s" startNumber="1">
     <SegmentTimeline><S t="0" d="45056" /><S d="48128" r="1" /><S d="2688" /></SegmentTimeline>
    </SegmentTemplate>
   </Representation>
  </AdaptationSet>
 </Period>
</MPD>
"""


def test_it_reads_every_representation_and_expands_its_segments() -> None:
    manifest = parse_mpd(MPD)
    assert manifest.duration == 3.0
    video, small = manifest.of_type("video")
    (audio,) = manifest.of_type("audio")
    assert (video.id, video.width, video.height, video.codecs, video.bandwidth) == (
        "0", 320, 240, "avc1.64000d", 300000)
    assert video.init == "init-0.m4s"
    assert video.segments == ("chunk-0-00001.m4s", "chunk-0-00002.m4s", "chunk-0-00003.m4s")
    assert video.duration == 3.0 and small.segments[-1] == "chunk-1-00003.m4s"
    assert (audio.sample_rate, audio.mime_type, len(audio.segments)) == (48000, "audio/mp4", 4)
    assert audio.duration == pytest.approx(3.0)


@pytest.mark.parametrize(("text", "seconds"), [
    ("PT3.0S", 3.0), ("PT1M2.5S", 62.5), ("PT1H", 3600.0), ("PT2H3M", 7380.0)])
def test_it_reads_iso_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "PT", "P1D", "3.0", "PT-1S", "PT1.5.5S"])
def test_it_refuses_other_durations(text: str) -> None:
    with pytest.raises(VerificationError):
        parse_duration(text)


@pytest.mark.parametrize(("old", "new"), [
    ('type="static"', 'type="dynamic"'),
    ('media="chunk-$RepresentationID$-$Number%05d$.m4s" startNumber="1">\n     <SegmentTimeline>'
     '<S t="0" d="15360" r="2" />', 'media="../chunk-$Number$.m4s" startNumber="1">\n'
     '     <SegmentTimeline><S t="0" d="15360" r="2" />'),
    ('initialization="init-$RepresentationID$.m4s"', 'initialization="/etc/passwd"'),
    ('initialization="init-$RepresentationID$.m4s"', 'initialization="http://x/init.m4s"'),
    ('initialization="init-$RepresentationID$.m4s"', 'initialization="file:init.m4s"'),
    ('initialization="init-$RepresentationID$.m4s"', 'initialization="init-$Time$.m4s"'),
    ('r="2"', 'r="-1"'),
    ('r="2"', 'r="999999"'),
    ('d="15360" r="2"', 'd="0" r="2"'),
    ('bandwidth="300000"', 'bandwidth="fast"'),
    ('<Representation id="0"', '<Representation id="../0"'),
    ('mediaPresentationDuration="PT3.0S"', 'mediaPresentationDuration="3 seconds"'),
    ('<SegmentTimeline><S t="0" d="15360" r="2" /></SegmentTimeline>', ""),
    ('xmlns="urn:mpeg:dash:schema:mpd:2011"', 'xmlns="urn:example"'),
    ('<Period id="0" start="PT0.0S">', '<BaseURL>file:/etc/</BaseURL><Period id="0">'),
    ('<Period id="0" start="PT0.0S">', '<Location>http://x/a.mpd</Location><Period id="0">'),
    ('<Period id="0" start="PT0.0S">',
     '<Period id="0" xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="http://x/p">'),
])
def test_it_refuses_manifests_outside_its_subset(old: str, new: str) -> None:
    assert old in MPD
    with pytest.raises(VerificationError):
        parse_mpd(MPD.replace(old, new, 1))


@pytest.mark.parametrize("text", [
    "",
    "not xml",
    '<?xml version="1.0"?><!DOCTYPE MPD [<!ENTITY a "aaaa">]><MPD>&a;</MPD>',
    '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static"'
    ' mediaPresentationDuration="PT1S"><Period/></MPD>',
])
def test_it_refuses_entities_garbage_and_empty_manifests(text: str) -> None:
    with pytest.raises(VerificationError):
        parse_mpd(text)
