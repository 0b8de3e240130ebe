// The inbound_delivery table: the record that makes a redelivery a duplicate.
import type { SqlExecutor } from '../../storage/sql.ts';

export interface DeliveryRecord {
  connectionId: string;
  deliveryId: string;
  outcome: string;
  commandCount: number;
}

export async function flushDeliveries(tx: SqlExecutor, deliveries: readonly DeliveryRecord[], now: Date) {
  if (!deliveries.length) return;
  // No ON CONFLICT: a concurrent writer that applied the same delivery first makes this fail,
  // the batch is retried, and the retry sees the delivery as a duplicate.
  await tx.query(
    `INSERT INTO inbound_delivery (connection_id, delivery_id, received_at, outcome, command_count)
           SELECT "connectionId", "deliveryId", $2, outcome, "commandCount"
           FROM jsonb_to_recordset($1::jsonb) AS r("connectionId" uuid, "deliveryId" text, outcome text, "commandCount" int)`,
    [JSON.stringify(deliveries), now],
  );
}
