using System.Buffers;
using System.Text;

namespace Exir.Evtx.Internal;

/// <summary>
/// Rendered text to UTF-8 exactly as a UTF-8 text writer would encode the same string (a lone surrogate becomes
/// U+FFFD, a pair split between the builder's chunks stays one character), so the byte path and the string path
/// of a record give the same output.
/// </summary>
internal static class Utf8Output
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);
    [ThreadStatic] private static Encoder? t_encoder;
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_bytes;

    public static void Encode(StringBuilder text, IBufferWriter<byte> output)
    {
        var encoder = t_encoder ??= Utf8.GetEncoder();
        encoder.Reset();
        foreach (var chunk in text.GetChunks()) encoder.Convert(chunk.Span, output, flush: false, out _, out _);
        encoder.Convert(ReadOnlySpan<char>.Empty, output, flush: true, out _, out _);
    }

    /// <summary>The UTF-8 of <paramref name="text"/> in an array of its exact size.</summary>
    public static byte[] ToArray(StringBuilder text)
    {
        var bytes = t_bytes ??= new ArrayBufferWriter<byte>(8192);
        if (bytes.Capacity > 1 << 21) bytes = t_bytes = new ArrayBufferWriter<byte>(8192); // not a huge buffer for good
        bytes.ResetWrittenCount();
        Encode(text, bytes);
        return bytes.WrittenSpan.ToArray();
    }
}
