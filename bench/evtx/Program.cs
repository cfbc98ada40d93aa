using System.Buffers;
using System.Diagnostics;
using Exir.Evtx;

// evtx-bench [--format jsonl|xml|none] [--repeat N] [--dump] [--alloc-profile] [--jit-profile] PATH...
// Reads every .evtx under PATH(s), renders each record (as `exir evtx` does) into a null stream and
// prints one tab-separated line: files bytes records seconds MB/s peak-working-set-MiB cpu-seconds.
// --dump writes the records to stdout exactly as `exir evtx` does (for byte-for-byte comparisons)
// and the figures to stderr.
string format = "jsonl";
int repeat = 1;
bool dump = false, allocProfile = false, jitProfile = false;
var inputs = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--format": format = args[++i]; break;
        case "--repeat": repeat = int.Parse(args[++i]); break;
        case "--dump": dump = true; break;
        case "--alloc-profile": allocProfile = true; break;
        case "--jit-profile": jitProfile = true; break;
        default: inputs.Add(args[i]); break;
    }
}
RuntimeProfile.Start(allocProfile, jitProfile);
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
RuntimeProfile.Print();
(dump ? Console.Error : Console.Out).WriteLine($"{files.Count * repeat}\t{bytes}\t{records}\t{seconds:F3}\t{bytes / 1e6 / seconds:F1}\t{self.PeakWorkingSet64 >> 20}\t{self.TotalProcessorTime.TotalSeconds:F3}\tgc {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} alloc {GC.GetTotalAllocatedBytes() >> 20} MiB");

/// <summary>
/// --alloc-profile: allocations by type (the runtime's AllocationTick event, a sample about every 100 KB);
/// --jit-profile: methods the JIT compiled, by assembly and tier (MethodLoadVerbose events).
/// </summary>
internal sealed class RuntimeProfile : System.Diagnostics.Tracing.EventListener
{
    private const long AllocKeyword = 0x1, JitKeyword = 0x10;
    // Static: the base constructor already calls OnEventSourceCreated, before an instance field would be set.
    private static long _keywords;
    private static RuntimeProfile? _instance;
    private static readonly Dictionary<string, long> Alloc = new(), Jit = new();

    public static void Start(bool alloc, bool jit)
    {
        _keywords = (alloc ? AllocKeyword : 0) | (jit ? JitKeyword : 0);
        if (_keywords != 0) _instance = new RuntimeProfile();
    }

    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
            EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)_keywords);
    }

    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
    {
        if (e.EventName is null || e.Payload is null) return;
        string Field(string name) => e.PayloadNames!.IndexOf(name) is >= 0 and var i ? e.Payload![i]?.ToString() ?? "" : "";
        if (e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal))
        {
            long amount = long.TryParse(Field("AllocationAmount64"), out var a) ? a : 100_000;
            Add(Alloc, Field("TypeName"), amount);
        }
        else if (e.EventName.StartsWith("MethodLoadVerbose", StringComparison.Ordinal))
        {
            var ns = Field("MethodNamespace");
            var owner = ns.StartsWith("Exir.", StringComparison.Ordinal) ? "Exir" : string.Join('.', ns.Split('.').Take(2));
            uint flags = uint.TryParse(Field("MethodFlags"), out var f) ? f : 0;
            string tier = ((flags >> 7) & 7) switch { 1 => "min-opt", 2 => "optimized", 3 => "quick-jitted", 4 => "tier1", 5 => "tier1-osr", _ => "other" };
            Add(Jit, $"{tier,-13} {owner}", 1);
        }
    }

    private static void Add(Dictionary<string, long> totals, string key, long amount)
    {
        lock (totals) totals[key] = totals.GetValueOrDefault(key) + amount;
    }

    public static void Print()
    {
        if (_instance is null) return;
        lock (Alloc)
            foreach (var kv in Alloc.OrderByDescending(kv => kv.Value).Take(25))
                Console.Error.WriteLine($"{kv.Value >> 20,8} MiB  {kv.Key}");
        lock (Jit)
        {
            if (Jit.Count > 0) Console.Error.WriteLine($"{Jit.Values.Sum(),8} methods compiled");
            foreach (var kv in Jit.OrderByDescending(kv => kv.Value).Take(25))
                Console.Error.WriteLine($"{kv.Value,8} methods  {kv.Key}");
        }
    }
}
