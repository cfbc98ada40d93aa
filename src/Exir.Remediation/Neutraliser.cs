using System.Text;

namespace Exir.Remediation;

/// <summary>
/// Keeps quarantined bytes inert: a stored item is the magic line "EXIR-QUARANTINE-1\n" followed by
/// the original bytes XOR-ed with the repeating key "infected" (the field's usual malware password).
/// No script engine, web server or antivirus signature sees the original bytes, and anyone can
/// recover them without exir (the store's README shows how). This is neutralisation, not secrecy.
/// </summary>
public static class Neutraliser
{
    public static readonly byte[] Magic = Encoding.ASCII.GetBytes("EXIR-QUARANTINE-1\n");
    public static readonly byte[] Key = Encoding.ASCII.GetBytes("infected");

    /// <summary>XORs <paramref name="buffer"/> in place; <paramref name="position"/> is the offset of buffer[0] in the content.</summary>
    public static void Apply(Span<byte> buffer, long position)
    {
        int k = (int)(position % Key.Length);
        for (int i = 0; i < buffer.Length; i++)
        {
            buffer[i] ^= Key[k];
            if (++k == Key.Length) k = 0;
        }
    }
}
