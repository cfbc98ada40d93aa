using System.Threading.Channels;
using Exir.Core.Findings;

namespace Exir.Proxy.Host;

/// <summary>
/// The proxy's findings on their way to the verb's outputs: a bounded queue, so a flood of attack requests costs
/// memory up to the bound and is then counted (<see cref="Dropped"/>), never an unbounded backlog.
/// </summary>
public sealed class BlockFindings
{
    public const int Capacity = 10_000;
    private readonly Channel<Finding> _channel = Channel.CreateBounded<Finding>(new BoundedChannelOptions(Capacity)
    {
        FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true, SingleWriter = false,
    });
    private long _added, _dropped;

    public long Added => Interlocked.Read(ref _added);
    public long Dropped => Interlocked.Read(ref _dropped);
    public ChannelReader<Finding> Reader => _channel.Reader;

    public void Add(Finding finding)
    {
        if (_channel.Writer.TryWrite(finding)) Interlocked.Increment(ref _added);
        else Interlocked.Increment(ref _dropped);
    }

    internal void Complete() => _channel.Writer.TryComplete();
}
