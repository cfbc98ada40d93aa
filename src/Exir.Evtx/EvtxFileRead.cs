namespace Exir.Evtx;

/// <summary>One file of <see cref="EvtxReader.ReadFiles"/>: its path, what the reader saw in it, and the error that stopped it.</summary>
public sealed class EvtxFileRead
{
    internal EvtxFileRead(string path, Func<Stream> open, EvtxReadStats? stats = null, bool disposeStream = true)
    {
        Path = path;
        Open = open;
        Stats = stats ?? new EvtxReadStats();
        DisposeStream = disposeStream;
    }

    public string Path { get; }
    /// <summary>Complete once the reader has yielded the file's end (its record null).</summary>
    public EvtxReadStats Stats { get; }
    /// <summary>Why the file could not be opened or read to its end (records read before it were yielded); null when it was.</summary>
    public Exception? Error { get; internal set; }

    internal Func<Stream> Open { get; }
    internal bool DisposeStream { get; }
}
