using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Exir.Proxy.Host.Tests.Emulator;

/// <summary>
/// NTLMSSP-shaped messages for the emulator and its test client. The layout (signature, message type, security
/// buffers, the 8-byte server challenge at offset 24 of the type 2) is NTLM's, so a proxy sees real-looking
/// tokens; the proof in the type 3 is not NTLMv2 but HMAC-SHA256(password, challenge), enough to tie a login to
/// the challenge a connection received.
/// </summary>
public static class NtlmMessages
{
    private static ReadOnlySpan<byte> Signature => "NTLMSSP\0"u8;
    public const uint Flags = 0xE2088297; // unicode, NTLM, always sign, extended session security, 128, 56, key exch

    /// <summary>The message type (1, 2, 3), or -1 when the bytes are not an NTLMSSP message.</summary>
    public static int MessageType(ReadOnlySpan<byte> message) =>
        message.Length >= 12 && message[..8].SequenceEqual(Signature) ? BinaryPrimitives.ReadInt32LittleEndian(message[8..]) : -1;

    public static byte[] Type1()
    {
        var m = new byte[32];
        Signature.CopyTo(m);
        BinaryPrimitives.WriteInt32LittleEndian(m.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(12), Flags);
        // Domain and workstation buffers (16..31): empty, offset 32.
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(20), 32);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(28), 32);
        return m;
    }

    public static byte[] Type2(ReadOnlySpan<byte> challenge, string targetName = "CONTOSO")
    {
        if (challenge.Length != 8) throw new ArgumentException("an NTLM challenge is 8 bytes", nameof(challenge));
        var name = Encoding.Unicode.GetBytes(targetName);
        var m = new byte[48 + name.Length];
        Signature.CopyTo(m);
        BinaryPrimitives.WriteInt32LittleEndian(m.AsSpan(8), 2);
        WriteBuffer(m, 12, name.Length, 48);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(20), Flags);
        challenge.CopyTo(m.AsSpan(24));
        WriteBuffer(m, 40, 0, 48 + name.Length);
        name.CopyTo(m.AsSpan(48));
        return m;
    }

    public static bool TryGetChallenge(ReadOnlySpan<byte> type2, out byte[] challenge)
    {
        challenge = [];
        if (MessageType(type2) != 2 || type2.Length < 32) return false;
        challenge = type2.Slice(24, 8).ToArray();
        return true;
    }

    /// <summary>What proves a login: HMAC-SHA256 keyed with the password over the server challenge.</summary>
    public static byte[] Proof(string password, ReadOnlySpan<byte> challenge) =>
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(password), challenge);

    public static byte[] Type3(string domain, string user, string workstation, ReadOnlySpan<byte> proof)
    {
        var d = Encoding.Unicode.GetBytes(domain);
        var u = Encoding.Unicode.GetBytes(user);
        var w = Encoding.Unicode.GetBytes(workstation);
        var m = new byte[64 + proof.Length + d.Length + u.Length + w.Length];
        Signature.CopyTo(m);
        BinaryPrimitives.WriteInt32LittleEndian(m.AsSpan(8), 3);
        var at = 64;
        WriteBuffer(m, 12, 0, at);                                   // LM response: none
        WriteBuffer(m, 20, proof.Length, at); proof.CopyTo(m.AsSpan(at)); at += proof.Length;
        WriteBuffer(m, 28, d.Length, at); d.CopyTo(m, at); at += d.Length;
        WriteBuffer(m, 36, u.Length, at); u.CopyTo(m, at); at += u.Length;
        WriteBuffer(m, 44, w.Length, at); w.CopyTo(m, at); at += w.Length;
        WriteBuffer(m, 52, 0, at);                                   // session key: none
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(60), Flags);
        return m;
    }

    public static bool TryParseType3(ReadOnlySpan<byte> m, out string domain, out string user, out byte[] proof)
    {
        domain = user = ""; proof = [];
        if (MessageType(m) != 3 || m.Length < 64) return false;
        if (!TryReadBuffer(m, 20, out var p) || !TryReadBuffer(m, 28, out var d) || !TryReadBuffer(m, 36, out var u)) return false;
        proof = p.ToArray();
        domain = Encoding.Unicode.GetString(d);
        user = Encoding.Unicode.GetString(u);
        return true;
    }

    private static void WriteBuffer(byte[] m, int at, int length, int offset)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(at), (ushort)length);
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(at + 2), (ushort)length);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(at + 4), (uint)offset);
    }

    private static bool TryReadBuffer(ReadOnlySpan<byte> m, int at, out ReadOnlySpan<byte> value)
    {
        value = default;
        int length = BinaryPrimitives.ReadUInt16LittleEndian(m[at..]);
        var offset = BinaryPrimitives.ReadUInt32LittleEndian(m[(at + 4)..]);
        if (offset > (uint)m.Length || length > m.Length - (int)offset) return false;
        value = m.Slice((int)offset, length);
        return true;
    }
}
