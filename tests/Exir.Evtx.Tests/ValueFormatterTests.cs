using Exir.Evtx.Internal;

namespace Exir.Evtx.Tests;

/// <summary>Each substitution value type rendered from hand-made bytes, as Windows renders it.</summary>
public sealed class ValueFormatterTests
{
    private static string R(byte type, params byte[] bytes) => ValueFormatter.Render(bytes, type);
    private static byte[] U16(string s) => System.Text.Encoding.Unicode.GetBytes(s);

    [Fact]
    public void Strings()
    {
        Assert.Equal("cmd.exe", R(0x01, U16("cmd.exe\0")));               // terminating NUL dropped
        Assert.Equal("", R(0x01));
        Assert.Equal("caf\u00e9 \u20ac", R(0x02, 0x63, 0x61, 0x66, 0xe9, 0x20, 0x80, 0x00)); // ANSI as Windows-1252
        Assert.Equal("\u0081", R(0x02, 0x81));                             // undefined in 1252: kept, never fails
    }

    [Fact]
    public void Integers_and_reals()
    {
        Assert.Equal("-1", R(0x03, 0xff));
        Assert.Equal("255", R(0x04, 0xff));
        Assert.Equal("-2", R(0x05, 0xfe, 0xff));
        Assert.Equal("65534", R(0x06, 0xfe, 0xff));
        Assert.Equal("-3", R(0x07, 0xfd, 0xff, 0xff, 0xff));
        Assert.Equal("4294967293", R(0x08, 0xfd, 0xff, 0xff, 0xff));
        Assert.Equal("-4", R(0x09, 0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
        Assert.Equal("18446744073709551612", R(0x0a, 0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
        Assert.Equal("1.5", R(0x0b, BitConverter.GetBytes(1.5f)));
        Assert.Equal("-0.25", R(0x0c, BitConverter.GetBytes(-0.25d)));
    }

    [Fact]
    public void Hex_has_no_zero_padding()
    {
        Assert.Equal("0x1fffff", R(0x14, 0xff, 0xff, 0x1f, 0x00));
        Assert.Equal("0x0", R(0x14, 0, 0, 0, 0));
        Assert.Equal("0x529ae3", R(0x15, 0xe3, 0x9a, 0x52, 0, 0, 0, 0, 0));
        Assert.Equal("0x8000000000000000", R(0x15, 0, 0, 0, 0, 0, 0, 0, 0x80));
        Assert.Equal("0x24c", R(0x10, 0x4c, 0x02, 0, 0, 0, 0, 0, 0));       // SizeT, 64-bit
        Assert.Equal("0x24c", R(0x10, 0x4c, 0x02, 0, 0));                   // SizeT, 32-bit
    }

    [Fact]
    public void Bool_guid_binary_sid()
    {
        Assert.Equal("false", R(0x0d, 0, 0, 0, 0));
        Assert.Equal("true", R(0x0d, 1, 0, 0, 0));
        Assert.Equal("true", R(0x0d, 0, 1, 0, 0));                          // irregular non-zero values are true
        var guid = new Guid("365abb72-4a01-5ce7-0000-0010ee9dac00").ToByteArray();
        Assert.Equal("{365ABB72-4A01-5CE7-0000-0010EE9DAC00}", R(0x0f, guid));
        Assert.Equal("00FF10AB", R(0x0e, 0x00, 0xff, 0x10, 0xab));
        byte[] sid = [1, 6, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 0xf4, 0x01, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0xe8, 0x03, 0, 0, 0x10, 0x27, 0, 0];
        Assert.Equal("S-1-5-21-500-1-2-1000-10000", R(0x13, sid));
        Assert.Equal("S-1-5-18", R(0x13, 1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0));
        Assert.Equal("S-1-5-21-500", R(0x13, sid[..16]));                   // truncated SID keeps what is there
    }

    [Fact]
    public void Times_have_100ns_precision()
    {
        var t = new DateTime(2017, 8, 30, 19, 15, 23, DateTimeKind.Utc).AddTicks(6609079);
        Assert.Equal("2017-08-30T19:15:23.6609079Z", R(0x11, BitConverter.GetBytes(t.ToFileTimeUtc())));
        byte[] st = [0xe1, 0x07, 8, 0, 3, 0, 30, 0, 19, 0, 15, 0, 23, 0, 0x94, 0x02]; // 2017-08-30 19:15:23.660
        Assert.Equal("2017-08-30T19:15:23.6600000Z", R(0x12, st));
        Assert.Equal("0xffffffffffffffff", R(0x11, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)); // out of range: raw
    }

    [Fact]
    public void Arrays_split_into_items()
    {
        Assert.Equal(["a", "bc", ""], ValueFormatter.RenderArray(U16("a\0bc\0\0"), 0x81));
        Assert.Equal(["x", "y"], ValueFormatter.RenderArray([0x78, 0, 0x79, 0], 0x82));
        Assert.Equal(["1", "2"], ValueFormatter.RenderArray([1, 0, 2, 0], 0x86));
        Assert.Equal(["0x1", "0x2"], ValueFormatter.RenderArray([1, 0, 0, 0, 2, 0, 0, 0], 0x94));
        Assert.Equal(["true", "false"], ValueFormatter.RenderArray([1, 0, 0, 0, 0, 0, 0, 0], 0x8d));
        Assert.Equal(["S-1-5-18", "S-1-5-19"], ValueFormatter.RenderArray([1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 5, 19, 0, 0, 0], 0x93));
        var g = Guid.NewGuid();
        Assert.Equal(["{" + g.ToString().ToUpperInvariant() + "}"], ValueFormatter.RenderArray(g.ToByteArray(), 0x8f));
    }
}
