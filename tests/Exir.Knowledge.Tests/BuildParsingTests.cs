using Exir.Knowledge.Builds;

namespace Exir.Knowledge.Tests;

public class BuildParsingTests
{
    [Theory]
    [InlineData("15.1.2176.2")]
    [InlineData("15.01.2176.002")]
    [InlineData("Version 15.1 (Build 2176.2)")]
    [InlineData("  version 15.1 (build 2176.2) ")]
    [InlineData("v15.1.2176.2")]
    public void AcceptsEveryPastedForm(string text)
    {
        Assert.True(ExchangeBuild.TryParse(text, out var b));
        Assert.Equal(new ExchangeBuild(15, 1, 2176, 2), b);
        Assert.True(b.HasRevision);
    }

    [Theory]
    [InlineData("15.1.2176")]
    [InlineData("15.01.2176")]
    [InlineData("Version 15.1 (Build 2176)")]
    public void CuLevelFormsHaveNoRevision(string text)
    {
        Assert.True(ExchangeBuild.TryParse(text, out var b));
        Assert.False(b.HasRevision);
        Assert.Equal("15.1.2176", b.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("15")]
    [InlineData("15.1")]
    [InlineData("15.1.2176.2.9")]
    [InlineData("15.1.x.2")]
    [InlineData("Exchange 2016")]
    [InlineData("15.1.2176.2; rm -rf /")]
    [InlineData("15.1.9999999.1")]
    public void RejectsWhatIsNotABuild(string text) => Assert.False(ExchangeBuild.TryParse(text, out _));

    [Fact]
    public void LongAndShortFormsRoundTrip()
    {
        var b = new ExchangeBuild(14, 3, 513, 0);
        Assert.Equal("14.03.0513.000", b.ToLongString());
        Assert.Equal(b, ExchangeBuild.Parse(b.ToLongString()));
        Assert.Equal(b, ExchangeBuild.Parse(b.ToString()));
    }

    [Fact]
    public void CuLevelSortsBelowEveryRevisionOfItsLine()
    {
        Assert.True(new ExchangeBuild(15, 1, 2176) < new ExchangeBuild(15, 1, 2176, 0));
        Assert.True(new ExchangeBuild(15, 1, 2176, 99) < new ExchangeBuild(15, 1, 2242, 4));
        Assert.True(new ExchangeBuild(15, 0, 1497, 48) < new ExchangeBuild(15, 1, 225, 16));
    }

    [Fact]
    public void FindsABuildInsideText()
    {
        Assert.True(ExchangeBuild.TryFind("/owa/auth/15.1.2176/themes/resources/favicon.ico", out var b));
        Assert.Equal(new ExchangeBuild(15, 1, 2176), b);
        Assert.False(ExchangeBuild.TryFind("nginx/1.25.3", out _));
    }
}
