"""Reading our own HLS playlists, strictly."""

from __future__ import annotations

import pytest

from strongroom.media.errors import VerificationError
from strongroom.media.hls_playlist import attributes, check_uri, parse_master, parse_media

MASTER = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_audio",NAME="audio_2",DEFAULT=YES,URI="audio/chunklist.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=604608,RESOLUTION=320x240,CODECS="avc1.64000d,mp4a.40.2",AUDIO="group_audio"
video_1/chunklist.m3u8

#EXT-X-STREAM-INF:BANDWIDTH=111000,CODECS="mp4a.40.2",AUDIO="group_audio"
audio/chunklist.m3u8
"""
MEDIA = """#EXTM3U
#EXT-X-TARGETDURATION:1
#EXT-X-PLAYLIST-TYPE:VOD
#EXTINF:1.000000,
segment_00000.ts
#EXTINF:0.500000,
segment_00001.ts
#EXT-X-ENDLIST
"""


def test_it_reads_variants_and_the_audio_group() -> None:
    master = parse_master(MASTER)
    assert [(v.uri, v.bandwidth, v.resolution, v.audio_group) for v in master.variants] == [
        ("video_1/chunklist.m3u8", 604608, (320, 240), "group_audio"),
        ("audio/chunklist.m3u8", 111000, None, "group_audio")]
    assert [(m.kind, m.group_id, m.uri) for m in master.media] == [
        ("AUDIO", "group_audio", "audio/chunklist.m3u8")]


def test_it_reads_segments_and_their_duration() -> None:
    media = parse_media(MEDIA)
    assert media.ended and media.duration == 1.5
    assert [uri for uri, _ in media.segments] == ["segment_00000.ts", "segment_00001.ts"]


def test_it_keeps_commas_inside_quoted_attributes() -> None:
    assert attributes('A=1,CODECS="x,y",B=z') == {"A": "1", "CODECS": "x,y", "B": "z"}


@pytest.mark.parametrize("uri", ["/etc/passwd", "../x.ts", "a/../../x.ts", "file:///etc/passwd",
                                 "http://127.0.0.1/x.ts", "a\\b.ts", "", "a//b.ts", "x.ts?q"])
def test_it_refuses_uris_that_leave_the_output_folder(uri: str) -> None:
    with pytest.raises(VerificationError):
        check_uri(uri)


@pytest.mark.parametrize("text", [
    "", "#EXTM3X\nvideo.m3u8", "#EXTM3U\nvideo_1/chunklist.m3u8",
    "#EXTM3U\n#EXT-X-STREAM-INF:RESOLUTION=1x1\nv.m3u8",
    "#EXTM3U\n#EXT-X-MEDIA:URI=\"a.m3u8\"",
])
def test_it_refuses_malformed_master_playlists(text: str) -> None:
    with pytest.raises(VerificationError):
        parse_master(text)


@pytest.mark.parametrize("text", ["#EXTM3U\nsegment.ts", "#EXTM3U\n#EXTINF:abc,\ns.ts",
                                  "#EXTM3U\n#EXTINF:-1,\ns.ts", "#EXTM3U\n#EXTINF:1,\n/etc/x"])
def test_it_refuses_malformed_media_playlists(text: str) -> None:
    with pytest.raises(VerificationError):
        parse_media(text)
