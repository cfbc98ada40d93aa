using System.Buffers;
using System.Diagnostics;
using Exir.Evtx;

// evtx-bench [--format jsonl|xml|none] [--repeat N] [--dump] PATH...
// Reads every .evtx under PATH(s), renders each record (as `exir evtx` does) into a null stream and
// prints one tab-separated line: files bytes records seconds MB/s peak-working-set-MiB cpu-seconds.
// --dump writes the records to stdout exactly as `exir evtx` does (for byte-for-byte comparisons)
// and the figures to stderr.
string format = "jsonl";
int repeat = 1;
bool dump = false;
var inputs = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--format": format = args[++i]; break;
        case "--repeat": repeat = int.Parse(args[++i]); break;
        case "--dump": dump = true; break;
        case "--alloc-profile": AllocProfile.Start(); break;
        default: inputs.Add(args[i]); break;
    }
}
var files = inputs.SelectMany<string, string>(p => Directory.Exists(p)
    ? Directory.EnumerateFiles(p, "*.evtx", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
    : [p]).ToList();

long bytes = 0, records = 0;
// As `exir evtx` writes: the UTF-8 the chunk workers rendered, through a 64 KiB buffer.
var output = dump ? Console.OpenStandardOutput() : Stream.Null;
var buffer = new ArrayBufferWriter<byte>(1 << 17);
var clock = Stopwatch.StartNew();
for (int r = 0; r < repeat; r++)
{
    foreach (var file in files)
    {
        bytes += new FileInfo(file).Length;
        var render = format switch { "jsonl" => EvtxRender.Json, "xml" => EvtxRender.Xml, _ => EvtxRender.None };
        foreach (var record in EvtxReader.ReadRecords(file, null, render))
        {
            records++;
            if (format == "jsonl") record.WriteJson(buffer);
            else if (format == "xml") record.WriteXml(buffer);
            buffer.Write("\n"u8);
            if (buffer.WrittenCount < 1 << 16) continue;
            output.Write(buffer.WrittenSpan);
            buffer.ResetWrittenCount();
        }
    }
}
output.Write(buffer.WrittenSpan);
output.Flush();
double seconds = clock.Elapsed.TotalSeconds;
var self = Process.GetCurrentProcess();
AllocProfile.Print();
(dump ? Console.Error : Console.Out).WriteLine($"{files.Count * repeat}\t{bytes}\t{records}\t{seconds:F3}\t{bytes / 1e6 / seconds:F1}\t{self.PeakWorkingSet64 >> 20}\t{self.TotalProcessorTime.TotalSeconds:F3}\tgc {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} alloc {GC.GetTotalAllocatedBytes() >> 20} MiB");

/// <summary>--alloc-profile: samples allocations by type (the runtime's AllocationTick event, about every 100 KB).</summary>
internal sealed class AllocProfile : System.Diagnostics.Tracing.EventListener
{
    private static AllocProfile? _instance;
    private readonly Dictionary<string, long> _bytes = new();

    public static void Start() => _instance = new AllocProfile();

    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
            EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)0x1);
    }

    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
    {
        if (e.EventName is null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.Payload is null) return;
        int i = e.PayloadNames!.IndexOf("TypeName");
        int a = e.PayloadNames!.IndexOf("AllocationAmount64");
        string type = i >= 0 ? e.Payload[i]?.ToString() ?? "?" : "?";
        long amount = a >= 0 ? Convert.ToInt64(e.Payload[a]) : 100_000;
        lock (_bytes) _bytes[type] = _bytes.GetValueOrDefault(type) + amount;
    }

    public static void Print()
    {
        if (_instance is null) return;
        lock (_instance._bytes)
            foreach (var kv in _instance._bytes.OrderByDescending(kv => kv.Value).Take(25))
                Console.Error.WriteLine($"{kv.Value >> 20,8} MiB  {kv.Key}");
    }
}
