using System.Formats.Asn1;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Exir.Yara;

/// <summary>
/// The Authenticode signatures of a PE file (the security directory's PKCS#7 SignedData, nested signatures
/// included), read with the framework's DER reader. Each signature is described by its signer's certificate,
/// as yara does, plus the digest it signs, the file's own digest and all certificates. Signatures are
/// described, not verified. Anything malformed ends that signature's parse, never the scan.
/// </summary>
internal static class Authenticode
{
    private const int MaxEntries = 16, MaxSignatures = 16, MaxNesting = 4, MaxCertificates = 64;
    private const string SignedDataOid = "1.2.840.113549.1.7.2", NestedSignatureOid = "1.3.6.1.4.1.311.2.4.1";

    private static readonly Lazy<Dictionary<(string Kind, string Oid), string>> Names = new(()
        => ModuleConstants.ReadTsv("yara/x509-names.tsv").ToDictionary(f => (f[0], f[1]), f => f[2]));

    public sealed record Certificate(string Thumbprint, string Issuer, string Subject, long Version, string AlgorithmOid,
        string Serial, long NotBefore, long NotAfter, byte[] IssuerRaw, byte[] SerialRaw);

    public sealed record Signature(Certificate? Signer, List<Certificate> Certificates, string? DigestAlg, string? Digest, string? FileDigest);

    public static readonly MStructT CertificateType = new MStructT()
        .Strs("thumbprint", "issuer", "subject", "algorithm", "algorithm_oid", "serial").Ints("version", "not_before", "not_after");

    /// <summary>The signatures of the file (each WIN_CERTIFICATE of type PKCS#7, and the signatures nested in them).</summary>
    public static List<Signature> Read(PeFile pe)
    {
        var list = new List<Signature>();
        if (pe.Directory(4) is not { Va: > 0, Size: > 8 } dir) return list;
        long at = dir.Va, end = Math.Min(pe.Length, dir.Va + dir.Size);
        for (int k = 0; k < MaxEntries && at + 8 <= end; k++)
        {
            long length = pe.U32(at), type = pe.U16(at + 6);
            if (length < 8 || at + length > end) break;
            if (type == 2) Parse(pe.Data.Slice((int)at + 8, (int)length - 8).ToArray(), pe, dir.Va, list, 0);
            at += (length + 7) & ~7L;
        }
        return list;
    }

    private static void Parse(byte[] der, PeFile pe, long certTable, List<Signature> list, int depth)
    {
        if (depth > MaxNesting || list.Count >= MaxSignatures) return;
        var nested = new List<byte[]>();
        try
        {
            var content = new AsnReader(der, AsnEncodingRules.BER).ReadSequence();
            if (content.ReadObjectIdentifier() != SignedDataOid) return;
            var signedData = content.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0)).ReadSequence();
            signedData.ReadInteger();
            signedData.ReadSetOf();
            var (digestAlg, digest) = IndirectData(signedData.ReadSequence());
            var certs = new List<Certificate>();
            if (signedData.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0)))
            {
                var set = signedData.ReadSetOf(new Asn1Tag(TagClass.ContextSpecific, 0));
                while (set.HasData && certs.Count < MaxCertificates)
                    if (ReadCertificate(set.ReadEncodedValue().ToArray()) is { } c) certs.Add(c);
            }
            if (signedData.HasData && signedData.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 1))) signedData.ReadEncodedValue();
            var signers = signedData.ReadSetOf();
            Certificate? signer = null;
            if (signers.HasData)
            {
                var info = signers.ReadSequence();
                info.ReadInteger();
                var sid = info.ReadSequence();
                var issuer = sid.ReadEncodedValue().ToArray();
                var serial = sid.ReadIntegerBytes().ToArray();
                signer = certs.FirstOrDefault(c => c.IssuerRaw.AsSpan().SequenceEqual(issuer) && c.SerialRaw.AsSpan().SequenceEqual(serial));
                nested.AddRange(NestedSignatures(info));
            }
            list.Add(new Signature(signer, certs, digestAlg, digest, digestAlg is null ? null : FileDigest(pe, certTable, digestAlg)));
        }
        catch (Exception e) when (e is AsnContentException or CryptographicException or ArgumentException or InvalidOperationException or OverflowException) { }
        foreach (var n in nested) Parse(n, pe, certTable, list, depth + 1);
    }

    // SpcIndirectDataContent: the digest algorithm and the digest of the file that was signed.
    private static (string? Alg, string? Digest) IndirectData(AsnReader encap)
    {
        encap.ReadObjectIdentifier();
        if (!encap.HasData) return (null, null);
        var spc = encap.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0)).ReadSequence();
        spc.ReadEncodedValue();
        var digestInfo = spc.ReadSequence();
        var alg = digestInfo.ReadSequence().ReadObjectIdentifier();
        var digest = digestInfo.ReadOctetString();
        return (Names.Value.GetValueOrDefault(("digest", alg)), Convert.ToHexStringLower(digest));
    }

    // Nested signatures (Microsoft's 1.3.6.1.4.1.311.2.4.1 unsigned attribute): each value is a ContentInfo.
    private static List<byte[]> NestedSignatures(AsnReader info)
    {
        var found = new List<byte[]>();
        var unsigned = new Asn1Tag(TagClass.ContextSpecific, 1);
        while (info.HasData)
        {
            if (!info.PeekTag().HasSameClassAndValue(unsigned)) { info.ReadEncodedValue(); continue; }
            var attrs = info.ReadSetOf(unsigned);
            while (attrs.HasData)
            {
                var attr = attrs.ReadSequence();
                var oid = attr.ReadObjectIdentifier();
                var values = attr.ReadSetOf();
                while (values.HasData)
                {
                    var v = values.ReadEncodedValue().ToArray();
                    if (oid == NestedSignatureOid) found.Add(v);
                }
            }
        }
        return found;
    }

    private static Certificate? ReadCertificate(byte[] der)
    {
        try
        {
            var cert = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
            var tbs = cert.ReadSequence();
            long version = 1;
            var explicit0 = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
            if (tbs.PeekTag().HasSameClassAndValue(explicit0))
            {
                var v = tbs.ReadSequence(explicit0).ReadInteger();
                version = v >= 0 && v < 100 ? (long)v + 1 : 0;
            }
            var serial = tbs.ReadIntegerBytes().ToArray();
            tbs.ReadSequence();
            var issuer = tbs.ReadEncodedValue().ToArray();
            var validity = tbs.ReadSequence();
            long notBefore = ReadTime(validity), notAfter = ReadTime(validity);
            var subject = tbs.ReadEncodedValue().ToArray();
            var alg = cert.ReadSequence().ReadObjectIdentifier();
            return new Certificate(Convert.ToHexStringLower(SHA1.HashData(der)), OneLine(issuer), OneLine(subject), version, alg,
                SerialText(serial), notBefore, notAfter, issuer, serial);
        }
        catch (Exception e) when (e is AsnContentException or ArgumentException or OverflowException) { return null; }
    }

    private static long ReadTime(AsnReader r)
        => (r.PeekTag().TagValue == (int)UniversalTagNumber.UtcTime ? r.ReadUtcTime() : r.ReadGeneralizedTime()).ToUnixTimeSeconds();

    // "7e:93:eb:..." over the integer's magnitude (the DER sign byte left out), as yara prints serials.
    private static string SerialText(byte[] serial)
    {
        var magnitude = serial.Length > 1 && serial[0] == 0 ? serial.AsSpan(1) : serial.AsSpan();
        return string.Join(':', magnitude.ToArray().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
    }

    /// <summary>A distinguished name as OpenSSL's X509_NAME_oneline writes it: /C=US/O=Name/CN=..., bytes outside printable ASCII as \xHH.</summary>
    private static string OneLine(byte[] name)
    {
        var sb = new StringBuilder();
        var rdns = new AsnReader(name, AsnEncodingRules.DER).ReadSequence();
        while (rdns.HasData)
        {
            var set = rdns.ReadSetOf();
            while (set.HasData)
            {
                var atv = set.ReadSequence();
                var oid = atv.ReadObjectIdentifier();
                var tag = atv.PeekTag();
                var raw = atv.ReadEncodedValue();
                AsnDecoder.ReadEncodedValue(raw.Span, AsnEncodingRules.BER, out int start, out int length, out _);
                var value = raw.Span.Slice(start, length).ToArray();
                sb.Append('/').Append(Names.Value.GetValueOrDefault(("attr", oid), oid)).Append('=');
                // BMP strings: OpenSSL keeps the low bytes of 16-bit characters that fit in one byte.
                if (tag.TagValue == (int)UniversalTagNumber.BMPString && value.Length % 2 == 0 && value.Where((_, i) => i % 2 == 0).All(b => b == 0))
                    value = value.Where((_, i) => i % 2 == 1).ToArray();
                foreach (var b in value)
                    if (b is >= 0x20 and <= 0x7E) sb.Append((char)b);
                    else sb.Append("\\x").Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// The Authenticode digest of the file: everything before the certificate table except the header checksum and
    /// the security directory entry.
    /// </summary>
    private static string? FileDigest(PeFile pe, long certTable, string alg)
    {
        using var h = alg switch
        {
            "md5" => IncrementalHash.CreateHash(HashAlgorithmName.MD5),
            "sha1" => IncrementalHash.CreateHash(HashAlgorithmName.SHA1),
            "sha256" => IncrementalHash.CreateHash(HashAlgorithmName.SHA256),
            "sha384" => IncrementalHash.CreateHash(HashAlgorithmName.SHA384),
            "sha512" => IncrementalHash.CreateHash(HashAlgorithmName.SHA512),
            _ => null,
        };
        if (h is null) return null;
        long checksum = pe.Optional + 64, secDir = pe.Optional + (pe.Is64 ? 112 : 96) + 4 * 8;
        long end = Math.Min(certTable, pe.Length);
        if (secDir + 8 > end) return null;
        var d = pe.Data;
        h.AppendData(d[..(int)checksum]);
        h.AppendData(d[(int)(checksum + 4)..(int)secDir]);
        h.AppendData(d[(int)(secDir + 8)..(int)end]);
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }

    public static string AlgorithmName(string oid) => Names.Value.GetValueOrDefault(("alg", oid), oid);

    public static MObj CertificateObject(Certificate c)
        => new MObj().Set("thumbprint", c.Thumbprint).Set("issuer", c.Issuer).Set("subject", c.Subject).Set("version", c.Version)
            .Set("algorithm", AlgorithmName(c.AlgorithmOid)).Set("algorithm_oid", c.AlgorithmOid).Set("serial", c.Serial)
            .Set("not_before", c.NotBefore).Set("not_after", c.NotAfter);
}
