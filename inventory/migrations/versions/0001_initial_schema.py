"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 19:57:59.354897
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
   
    op.create_table('alert_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('incident_key', sa.String(length=128), nullable=True),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('result', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_log'))
    )
    with op.batch_alter_table('alert_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_log_incident_key'), ['incident_key'], unique=False)

    op.create_table('regions',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('level', sa.Enum('county', 'township', 'village', name='region_level', native_enum=False, length=16), nullable=False),
    sa.Column('parent_code', sa.String(length=32), nullable=True),
    sa.Column('derived', sa.Boolean(), nullable=False),
    sa.Column('target', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_code'], ['regions.code'], name=op.f('fk_regions_parent_code_regions')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_regions'))
    )
    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_regions_parent_code'), ['parent_code'], unique=False)

    op.create_table('report_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_snapshots')),
    sa.UniqueConstraint('period', 'kind', name=op.f('uq_report_snapshots_period_kind'))
    )
    op.create_table('devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=True),
    sa.Column('region_code', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_devices_region_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_devices')),
    sa.UniqueConstraint('host', name=op.f('uq_devices_host'))
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_devices_region_code'), ['region_code'], unique=False)

    op.create_table('points',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('village_code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('planned', sa.Boolean(), nullable=False),
    sa.Column('retired', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['village_code'], ['regions.code'], name=op.f('fk_points_village_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points')),
    sa.UniqueConstraint('village_code', 'name', name=op.f('uq_points_village_code_name'))
    )
    with op.batch_alter_table('points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_points_village_code'), ['village_code'], unique=False)

    op.create_table('cameras',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('point_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('gb_id', sa.String(length=20), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('rtsp_port', sa.Integer(), nullable=False),
    sa.Column('rtsp_path', sa.String(length=512), nullable=False),
    sa.Column('onvif_port', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=128), nullable=True),
    sa.Column('credential_ref', sa.Text(), nullable=True),
    sa.Column('vendor', sa.String(length=64), nullable=True),
    sa.Column('model', sa.String(length=128), nullable=True),
    sa.Column('firmware', sa.String(length=128), nullable=True),
    sa.Column('serial', sa.String(length=128), nullable=True),
    sa.Column('mac', sa.String(length=32), nullable=True),
    sa.Column('parent_device_id', sa.Integer(), nullable=True),
    sa.Column('contractor', sa.String(length=128), nullable=True),
    sa.Column('lifecycle', sa.Enum('active', 'maintenance', 'retired', name='lifecycle', native_enum=False, length=16), nullable=False),
    sa.Column('installed_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['parent_device_id'], ['devices.id'], name=op.f('fk_cameras_parent_device_id_devices')),
    sa.ForeignKeyConstraint(['point_id'], ['points.id'], name=op.f('fk_cameras_point_id_points')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cameras')),
    sa.UniqueConstraint('gb_id', name=op.f('uq_cameras_gb_id')),
    sa.UniqueConstraint('host', 'rtsp_port', 'rtsp_path', name=op.f('uq_cameras_host_rtsp_port_rtsp_path'))
    )
    with op.batch_alter_table('cameras', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cameras_contractor'), ['contractor'], unique=False)
        batch_op.create_index(batch_op.f('ix_cameras_parent_device_id'), ['parent_device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cameras_point_id'), ['point_id'], unique=False)

    op.create_table('exclusions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.Integer(), nullable=True),
    sa.Column('region_code', sa.String(length=32), nullable=True),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('approver', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_exclusions_camera_id_cameras')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_exclusions_region_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exclusions'))
    )
    with op.batch_alter_table('exclusions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exclusions_camera_id'), ['camera_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exclusions_region_code'), ['region_code'], unique=False)

    op.create_table('state_intervals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('camera_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('cause', sa.String(length=32), nullable=True),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_state_intervals_camera_id_cameras')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_state_intervals'))
    )
    with op.batch_alter_table('state_intervals', schema=None) as batch_op:
        batch_op.create_index('ix_state_intervals_camera_start', ['camera_id', 'start'], unique=False)

    op.create_table('work_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_key', sa.String(length=128), nullable=False),
    sa.Column('camera_id', sa.Integer(), nullable=True),
    sa.Column('region_code', sa.String(length=32), nullable=True),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('cause', sa.String(length=32), nullable=True),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_work_orders_camera_id_cameras')),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_work_orders_device_id_devices')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_work_orders_region_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_orders'))
    )
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_orders_camera_id'), ['camera_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_orders_incident_key'), ['incident_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_orders_region_code'), ['region_code'], unique=False)




def downgrade() -> None:
   
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_orders_region_code'))
        batch_op.drop_index(batch_op.f('ix_work_orders_incident_key'))
        batch_op.drop_index(batch_op.f('ix_work_orders_camera_id'))

    op.drop_table('work_orders')
    with op.batch_alter_table('state_intervals', schema=None) as batch_op:
        batch_op.drop_index('ix_state_intervals_camera_start')

    op.drop_table('state_intervals')
    with op.batch_alter_table('exclusions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exclusions_region_code'))
        batch_op.drop_index(batch_op.f('ix_exclusions_camera_id'))

    op.drop_table('exclusions')
    with op.batch_alter_table('cameras', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cameras_point_id'))
        batch_op.drop_index(batch_op.f('ix_cameras_parent_device_id'))
        batch_op.drop_index(batch_op.f('ix_cameras_contractor'))

    op.drop_table('cameras')
    with op.batch_alter_table('points', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_points_village_code'))

    op.drop_table('points')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_devices_region_code'))

    op.drop_table('devices')
    op.drop_table('report_snapshots')
    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_regions_parent_code'))

    op.drop_table('regions')
    with op.batch_alter_table('alert_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_log_incident_key'))
        batch_op.drop_index(batch_op.f('ix_alert_log_at'))

    op.drop_table('alert_log')

