namespace PSSocket
{
    /// <summary>A server's records as callers read them, and how it stops (see SocketServerSession.cs).</summary>
    public abstract partial class SocketServerSession
    {
        // ---- reading records -----------------------------------------------------------------

        /// <summary>Takes the records of clients that have finished, oldest first.</summary>
        public ServerClientRecord[] TakeRecords()
        {
            lock (_recordLock)
            {
                var all = _records.ToArray();
                _records.Clear();
                _recordBytes = 0;
                return all;
            }
        }

        /// <summary>The records newer than <paramref name="after"/> (a <see cref="ServerClientRecord.Sequence"/>), oldest first, left in place for <see cref="TakeRecords"/>.</summary>
        public ServerClientRecord[] PeekRecords(long after)
        {
            lock (_recordLock)
            {
                var newer = new List<ServerClientRecord>();
                foreach (var record in _records)
                {
                    if (record.Sequence > after)
                    {
                        newer.Add(record);
                    }
                }

                return newer.ToArray();
            }
        }

        /// <summary>The <see cref="ServerClientRecord.Sequence"/> of the newest record so far (0 before the first).</summary>
        public long LastRecordSequence
        {
            get
            {
                lock (_recordLock)
                {
                    return _recordSequence;
                }
            }
        }

        /// <summary>Completes at the next change (a client finished, the server completed); take it before reading records so no change is missed.</summary>
        public Task NextChange => Task.WhenAny(Volatile.Read(ref _changed).Task, _completed.Task);

        /// <summary>
        /// Waits until a client finishes, the server completes, or the deadline passes. True when
        /// there may be something new to take; false on timeout.
        /// </summary>
        public async Task<bool> WaitForRecordsAsync(Deadline deadline, CancellationToken token)
        {
            var changed = Volatile.Read(ref _changed).Task;
            if (Available > 0 || _completed.Task.IsCompleted)
            {
                return true;
            }

            return await deadline.WaitAsync(Task.WhenAny(changed, _completed.Task), token).ConfigureAwait(false);
        }

        // ---- stopping ------------------------------------------------------------------------

        /// <summary>True when called from a client's own work (a script block stopping its own server), which must not wait for itself.</summary>
        protected virtual bool IsServingThread => false;

        /// <summary>
        /// Stops accepting; with a wait, lets clients being served finish until the deadline (or
        /// cancellation); then closes the server, stops the rest and gives them <paramref name="grace"/>
        /// to end. Returns what is still running after that: clients stuck where they cannot be
        /// stopped (a script block inside a long .NET call). They are given up on, never waited for.
        /// </summary>
        /// <param name="waitForClients">How long clients being served may take to finish (with <paramref name="wait"/>).</param>
        /// <param name="wait">Whether to let clients being served finish.</param>
        /// <param name="grace">How long stopped clients get to end before they are given up on.</param>
        /// <param name="token">Stops the wait for clients at once.</param>
        /// <param name="command">The command that stops the server, named in CloseReason.</param>
        public async Task<IReadOnlyList<string>> StopAsync(Deadline waitForClients, bool wait, TimeSpan grace, CancellationToken token, string command = "Stop-SocketServer")
        {
            bool fromInside = IsServingThread;
            // Stopped, as Stop-Job leaves a job: listed with its records until Remove-SocketSession.
            _keepListed = true;
            StopAccepting();
            wait &= !fromInside;
            try
            {
                if (wait)
                {
                    await waitForClients.WaitAsync(WhenServedAsync(), token).ConfigureAwait(false);
                }
            }
            finally
            {
                Close(wait ? $"Stopped by {command} after waiting for its clients" : $"Stopped by {command}");
            }

            if (!fromInside)
            {
                await Deadline.After(grace).WaitAsync(WhenServedAsync(), CancellationToken.None).ConfigureAwait(false);
            }

            var stuck = new List<string>();
            foreach (var entry in _serving.Values)
            {
                stuck.Add(entry.Work.Describe());
            }

            if (stuck.Count > 0 && !fromInside)
            {
                InterruptStuck();
            }

            return stuck;
        }

        /// <summary>
        /// Closes the server and wakes every client's work at once, without the usual grace (the
        /// process is exiting: nothing may hold it up).
        /// </summary>
        public void Abort(string reason)
        {
            Close(reason);
            try
            {
                _clientsCts.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Already torn down.
            }

            InterruptStuck();
        }

        private void StopAccepting()
        {
            _stopping = true;
            try
            {
                _acceptCts.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Already torn down.
            }

            ListenSocket.Close(0);
            UnixSockets.RemoveSocketFile(LocalEndPoint);
            OnStopAccepting();
            Signal();
        }

        /// <summary>Releases what only the accepting side holds (pending handshakes, mappings).</summary>
        protected virtual void OnStopAccepting()
        {
        }

        private async Task WhenServedAsync()
        {
            await _loop.ConfigureAwait(false);
            var all = new List<Task>();
            foreach (var entry in _serving.Values)
            {
                if (entry.Task is { } t)
                {
                    all.Add(t);
                }
            }

            await Task.WhenAll(all).ConfigureAwait(false);
        }

        /// <inheritdoc />
        protected override void OnClose()
        {
            StopAccepting();

            // A closed (not stopped) server leaves the registry like any removed session; its object keeps its records.
            if (!_keepListed)
            {
                Registry.Unregister(this);
            }

            _ = Task.Run(TeardownAsync);
        }

        private async Task TeardownAsync()
        {
            try
            {
                _clientsCts.Cancel();
                foreach (var entry in _serving.Values)
                {
                    entry.Work.Interrupt("The server was stopped");
                }

                var done = WhenServedAsync();
                if (!await Deadline.After(TeardownWait).WaitAsync(done, CancellationToken.None).ConfigureAwait(false))
                {
                    InterruptStuck();
                    _ = done.ContinueWith(t => t.Exception, TaskScheduler.Default);
                }
            }
            finally
            {
                try
                {
                    ReleaseResources();
                }
                finally
                {
                    _acceptCts.Dispose();
                    _completed.TrySetResult(true);
                    Signal();
                }
            }
        }

        /// <summary>Wakes the work a stop could not end (script blocks waiting inside .NET); the server has given up on it. Must not block.</summary>
        protected virtual void InterruptStuck()
        {
        }

        /// <summary>Releases what the kind holds for its clients (the runspace pool), once they ended or were given up on. Must not block.</summary>
        protected virtual void ReleaseResources()
        {
        }
    }
}
