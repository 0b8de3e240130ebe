// Audit anchoring: every AUDIT_ANCHOR_INTERVAL_MS, each organization whose audit chain moved since
// its last anchor gets one (its chain head signed, appended as an `audit.anchored` row; see
// src/audit/anchor.ts for what that proves). Every instance may run this: anchorChain locks the
// chain head, and a head that already is an anchor is left alone.
import { ANCHOR_ACTION, anchorChain, type AuditSigner } from '../audit/anchor.ts';
import type { SqlClient } from '../storage/sql.ts';
import type { Logger } from '../hub/logger.ts';
import { PeriodicTask } from './periodic.ts';

export interface AuditAnchoringOptions {
  sql: SqlClient;
  signer: AuditSigner;
  logger: Logger;
  /** Between two passes; the first pass is one interval after start. */
  intervalMs: number;
}

export class AuditAnchorer {
  private readonly task: PeriodicTask;

  constructor(private readonly options: AuditAnchoringOptions) {
    this.task = new PeriodicTask({
      name: 'audit anchoring',
      logger: options.logger,
      intervalMs: options.intervalMs,
      firstRunAfterMs: options.intervalMs,
      run: async () => void (await this.runOnce()),
    });
  }

  start() {
    this.task.start();
  }

  stop() {
    return this.task.stop();
  }

  /** One pass: anchors every organization (up to 1000) whose chain head is not an anchor. Returns how many. */
  async runOnce(): Promise<number> {
    const { sql, signer } = this.options;
    const due = await sql.query<{ organizationId: string }>(
      `SELECT h.organization_id AS "organizationId" FROM audit_chain_head h
       JOIN audit_event e ON e.organization_id = h.organization_id AND e.seq = h.seq
       WHERE e.action <> '${ANCHOR_ACTION}' LIMIT 1000`,
    );
    for (const { organizationId } of due) await anchorChain(sql, signer, organizationId);
    return due.length;
  }
}
