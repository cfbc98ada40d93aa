using System.Security.Cryptography;

namespace Exir.Yara;

/// <summary>yara's hash module: md5, sha1, sha256, crc32 and checksum32 of a file range or a string.</summary>
internal static class HashModule
{
    public static readonly MStructT Declaration = new MStructT()
        .RangeAndString("md5", d => Hex(MD5.HashData(d)))
        .RangeAndString("sha1", d => Hex(SHA1.HashData(d)))
        .RangeAndString("sha256", d => Hex(SHA256.HashData(d)))
        .RangeAndString("checksum32", Checksum32)
        .RangeAndString("crc32", Crc32);

    private static Value Checksum32(ReadOnlySpan<byte> d)
    {
        uint sum = 0;
        foreach (var b in d) sum += b;
        return Value.Int(sum);
    }

    private static readonly uint[] CrcTable = BuildCrc();
    private static uint[] BuildCrc()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }

    private static Value Crc32(ReadOnlySpan<byte> d)
    {
        uint c = 0xFFFFFFFF;
        foreach (var b in d) c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return Value.Int(c ^ 0xFFFFFFFF);
    }

    internal static Value Hex(byte[] h) => Value.Str(Convert.ToHexStringLower(h));
}
