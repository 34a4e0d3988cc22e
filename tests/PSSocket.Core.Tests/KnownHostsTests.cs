using System;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using PSSocket.Net.Ssh;
using PSSocket.Sessions.Ssh;
using Xunit;

namespace PSSocket.Tests
{
    /// <summary>OpenSSH known_hosts lines, read and matched without a server.</summary>
    public class KnownHostsTests
    {
        private static readonly byte[] s_key = Blob("ssh-ed25519", 1);
        private static readonly byte[] s_otherKey = Blob("ssh-ed25519", 2);
        private static readonly byte[] s_rsaKey = Blob("ssh-rsa", 3);

        private static byte[] Blob(string type, byte seed)
        {
            var t = Encoding.ASCII.GetBytes(type);
            var blob = new byte[4 + t.Length + 4 + 32];
            blob[3] = (byte)t.Length;
            Buffer.BlockCopy(t, 0, blob, 4, t.Length);
            blob[4 + t.Length + 3] = 32;
            for (int i = 0; i < 32; i++)
            {
                blob[blob.Length - 32 + i] = (byte)(seed + i);
            }

            return blob;
        }

        private static string Line(string hosts, byte[] key) => $"{hosts} {KnownHosts.KeyType(key)} {Convert.ToBase64String(key)}";

        private static string Hashed(string name, byte[] salt)
        {
#pragma warning disable CA5350 // OpenSSH's format
            using var hmac = new HMACSHA1(salt);
#pragma warning restore CA5350
            return $"|1|{Convert.ToBase64String(salt)}|{Convert.ToBase64String(hmac.ComputeHash(Encoding.UTF8.GetBytes(name)))}";
        }

        [Fact]
        public void APlainNameOnPort22MatchesTheSameKey()
        {
            var hosts = KnownHosts.Parse(Line("router1,10.0.0.1", s_key));
            Assert.Equal(HostKeyStatus.Known, hosts.Check("ROUTER1", 22, s_key));
            Assert.Equal(HostKeyStatus.Known, hosts.Check("10.0.0.1", 22, s_key));
            Assert.Equal(HostKeyStatus.Unknown, hosts.Check("router2", 22, s_key));
        }

        [Fact]
        public void AnotherPortIsWrittenInBrackets()
        {
            var hosts = KnownHosts.Parse(Line("[router1]:2222", s_key));
            Assert.Equal(HostKeyStatus.Known, hosts.Check("router1", 2222, s_key));
            Assert.Equal(HostKeyStatus.Unknown, hosts.Check("router1", 22, s_key));
            Assert.Equal("[router1]:2222", KnownHosts.HostName("Router1", 2222));
        }

        [Fact]
        public void AnotherKeyOfTheSameTypeIsAChange_OfAnotherTypeIsUnknown()
        {
            var hosts = KnownHosts.Parse(Line("router1", s_otherKey));
            Assert.Equal(HostKeyStatus.Changed, hosts.Check("router1", 22, s_key));
            Assert.Equal(HostKeyStatus.Unknown, hosts.Check("router1", 22, s_rsaKey));
        }

        [Fact]
        public void HashedNamesMatch()
        {
            var salt = new byte[20];
            salt[0] = 7;
            var hosts = KnownHosts.Parse(Line(Hashed("[10.1.1.1]:830", salt), s_key));
            Assert.Equal(HostKeyStatus.Known, hosts.Check("10.1.1.1", 830, s_key));
            Assert.Equal(HostKeyStatus.Unknown, hosts.Check("10.1.1.2", 830, s_key));
        }

        [Fact]
        public void WildcardsMatchAndNegationsExclude()
        {
            var hosts = KnownHosts.Parse(Line("*.lab.example,!bad.lab.example", s_key));
            Assert.Equal(HostKeyStatus.Known, hosts.Check("sw1.lab.example", 22, s_key));
            Assert.Equal(HostKeyStatus.Unknown, hosts.Check("bad.lab.example", 22, s_key));
        }

        [Fact]
        public void RevokedKeysAreRevokedForEveryHost()
        {
            var hosts = KnownHosts.Parse("@revoked * " + Line("", s_key).Trim() + "\n" + Line("router1", s_key));
            Assert.Equal(HostKeyStatus.Revoked, hosts.Check("router1", 22, s_key));
        }

        [Fact]
        public void CommentsBlankAndBrokenLinesAreSkipped()
        {
            var hosts = KnownHosts.Parse("# comment\n\nrouter1 ssh-ed25519 not-base64!\n@cert-authority * " + Line("", s_key).Trim() + "\n" + Line("router2", s_key) + "\r\n");
            Assert.Equal(1, hosts.Count);
            Assert.Equal(HostKeyStatus.Known, hosts.Check("router2", 22, s_key));
        }

        [Fact]
        public void FingerprintsAreOpenSshSha256()
        {
            string fp = KnownHosts.Fingerprint(s_key);
            Assert.StartsWith("SHA256:", fp, StringComparison.Ordinal);
            Assert.Equal(50, fp.Length);
            Assert.True(KnownHosts.IsFingerprint(fp));
            Assert.True(KnownHosts.FingerprintMatches(fp, s_key));
            Assert.True(KnownHosts.FingerprintMatches(fp.Substring(7) + "=", s_key));
            Assert.False(KnownHosts.FingerprintMatches(fp, s_otherKey));
            Assert.False(KnownHosts.IsFingerprint("MD5:aa:bb"));
        }

        [Fact]
        public void PolicyRefusesUnknownAndChangedKeysAndAcceptsNewOnesIntoTheFile()
        {
            string dir = Path.Combine(Path.GetTempPath(), "pssocket-kh-" + Guid.NewGuid().ToString("n"));
            try
            {
                var policy = new SshHostKeyPolicy { KnownHostsPath = Path.Combine(dir, "known_hosts") };
                var unknown = Assert.Throws<PSSocketException>(() => policy.Verify("router1", 22, s_key));
                Assert.Equal(SocketErrorKind.HostKeyUnknown, unknown.Kind);
                Assert.Contains(KnownHosts.Fingerprint(s_key), unknown.Message, StringComparison.Ordinal);

                policy.AcceptNew = true;
                policy.Verify("router1", 22, s_key);
                Assert.Contains(Line("router1", s_key), File.ReadAllText(policy.KnownHostsPath), StringComparison.Ordinal);

                var changed = Assert.Throws<PSSocketException>(() => policy.Verify("router1", 22, s_otherKey));
                Assert.Equal(SocketErrorKind.HostKeyMismatch, changed.Kind);

                policy.AcceptNew = false;
                policy.Fingerprints.Add(KnownHosts.Fingerprint(s_rsaKey));
                policy.Verify("router9", 22, s_rsaKey);
            }
            finally
            {
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
        }
    }
}
