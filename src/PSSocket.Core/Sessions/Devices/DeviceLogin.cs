using System.Security;
using System.Text.RegularExpressions;

namespace PSSocket.Sessions.Devices
{
    /// <summary>
    /// The login a terminal server or a device's telnet service asks for: the user name at
    /// "login:" or "Username:", the password at "Password:", until the device's prompt comes.
    /// </summary>
    public static class DeviceLogin
    {
        private static readonly Regex s_user = new(@"(?i)(user ?name|login)\s*:\s*$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(2));
        private static readonly Regex s_password = new(@"(?i)pass(word|code)\s*:\s*$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(2));

        /// <summary>
        /// Answers the login questions until the prompt of the profile shows. A question asked again
        /// after the password (or the connection closed then) is AuthenticationFailed; the password
        /// is sent redacted, so transcripts never hold it.
        /// </summary>
        public static async Task LoginAsync(TcpSession session, string? user, SecureString? password, DeviceProfile profile, TimeSpan timeout, CancellationToken token)
        {
            var watch = new DeviceWatch(profile, null, new[] { s_user, s_password }, null, null, DeviceCommandOptions.DefaultQuiet);
            var deadline = Deadline.After(timeout);
            bool sentUser = false;
            bool sentPassword = false;
            while (true)
            {
                DeviceReceipt r;
                try
                {
                    r = await session.ReceiveRuleAsync(new DeviceFrame(watch, "", echoDone: true, session.Encoding, TcpSession.DefaultMaxBytes), TcpSession.DefaultMaxBytes, deadline, token).ConfigureAwait(false);
                }
                catch (PSSocketException ex) when (sentPassword && ex.Kind == SocketErrorKind.RemoteClosed)
                {
                    throw Refused(session, ex);
                }
                catch (PSSocketException ex) when (ex.Kind == SocketErrorKind.ReceiveTimeout)
                {
                    throw new PSSocketException(SocketErrorKind.ReceiveTimeout,
                        $"Logging in on session {session}: neither a login question nor a {profile.Name} prompt came within {Connection.Describe(timeout)}. {session.DescribeBufferedTail() ?? "Nothing arrived."}",
                        ex, target: session);
                }

                if (r.Stop == DeviceStop.Prompt)
                {
                    return;
                }

                if (r.Stop != DeviceStop.Answer)
                {
                    continue;
                }

                bool asksUser = r.Answer == 0;
                if (sentPassword || (asksUser && sentUser))
                {
                    throw Refused(session, null, r.Text);
                }

                if (asksUser)
                {
                    if (user is null)
                    {
                        throw new PSSocketException(SocketErrorKind.AuthenticationFailed, $"The device on session {session} asks for a user name: give -Credential.", target: session);
                    }

                    var name = session.Encoding.GetBytes(user + session.LineTerminator);
                    await session.SendAsync(name, 0, name.Length, deadline, token).ConfigureAwait(false);
                    sentUser = true;
                    continue;
                }

                if (password is null)
                {
                    throw new PSSocketException(SocketErrorKind.AuthenticationFailed, $"The device on session {session} asks for a password: give -Credential.", target: session);
                }

                var secret = SecretText.Encode(password, session.Encoding, session.LineTerminator);
                try
                {
                    await session.SendAsync(secret, 0, secret.Length, redacted: true, deadline, token).ConfigureAwait(false);
                }
                finally
                {
                    Array.Clear(secret, 0, secret.Length);
                }

                sentPassword = true;
            }
        }

        /// <summary>Sends the profile's commands before closing (best effort: the device may close first).</summary>
        public static async Task SayGoodbyeAsync(TcpSession session, DeviceProfile profile, CancellationToken token)
        {
            foreach (var command in profile.CloseCommand)
            {
                try
                {
                    var bytes = session.Encoding.GetBytes(command + session.LineTerminator);
                    await session.SendAsync(bytes, 0, bytes.Length, Deadline.After(TimeSpan.FromSeconds(2)), token).ConfigureAwait(false);
                }
                catch (PSSocketException)
                {
                    return;
                }
            }
        }

        private static PSSocketException Refused(TcpSession session, Exception? inner, string? said = null)
        {
            string text = said is null ? "" : DeviceText.Clean(said).Trim();
            return new PSSocketException(SocketErrorKind.AuthenticationFailed,
                $"The device on session {session} refused the login{(text.Length > 0 ? $": {TextEncoding.Escape(text.Length > 200 ? text.Substring(text.Length - 200) : text)}" : "")}. Check -Credential.",
                inner, target: session);
        }
    }
}
